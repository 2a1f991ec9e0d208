using System.Text;
using System.Text.RegularExpressions;

namespace Ingestion.Api.Features.Errors;

/// <summary>
/// RFC 4180 rows for reports that people open in spreadsheets. A cell that a spreadsheet would run as a formula
/// (it starts with = + - @, a tab or a carriage return) is written with a leading apostrophe, the OWASP defence
/// against CSV injection: the file came from users, and the person opening it may not be the one who wrote it.
/// Plain numbers such as -21.5 are left alone: spreadsheets read them as numbers, never as formulas.
/// </summary>
public static partial class CsvCells
{
    public static void AppendRow(StringBuilder line, params ReadOnlySpan<string?> cells)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0)
            {
                line.Append(',');
            }
            AppendCell(line, Neutralise(cells[i] ?? ""));
        }
        line.Append("\r\n");
    }

    public static string Neutralise(string cell) =>
        cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@' or '\t' or '\r' && !PlainNumber().IsMatch(cell) ? "'" + cell : cell;

    private static void AppendCell(StringBuilder line, string cell)
    {
        // Quoted when a reader could otherwise split or trim it; quotes inside are doubled.
        if (cell.AsSpan().IndexOfAny(",\"\r\n") < 0 && !cell.StartsWith(' ') && !cell.EndsWith(' '))
        {
            line.Append(cell);
            return;
        }
        line.Append('"');
        foreach (var c in cell)
        {
            line.Append(c == '"' ? "\"\"" : c);
        }
        line.Append('"');
    }

    [GeneratedRegex(@"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")]
    private static partial Regex PlainNumber();
}
