namespace Ingestion.Api.Features.Query;

/// <summary>The operators of the query language; which ones a field accepts depends on its declared type.</summary>
public enum FilterOp { Eq, Ne, Lt, Le, Gt, Ge, Between, Contains, StartsWith, In, HasAny, HasAll, Exists, Missing }

/// <summary>
/// Where a piece of a filter came from, so an error can point at it: an offset into the query text, or a path
/// into the JSON tree (e.g. <c>filter.and[1].value</c>).
/// </summary>
public readonly record struct SourceRef(int Offset, string? JsonPath)
{
    public static SourceRef Text(int offset) => new(offset, null);

    public static SourceRef Json(string path) => new(-1, path);
}

public enum LiteralKind { String, Number }

/// <summary>A literal as written: a string, or a number kept as its text so the planner parses it once, by the field's type.</summary>
public sealed record Literal(LiteralKind Kind, string Text, SourceRef Where);

/// <summary>A filter as written, before it is checked against the dataset's declared fields. Text and JSON parse to this.</summary>
public abstract record FilterSyntax(SourceRef Where);

public sealed record AndSyntax(IReadOnlyList<FilterSyntax> Operands, SourceRef Where) : FilterSyntax(Where);

public sealed record OrSyntax(IReadOnlyList<FilterSyntax> Operands, SourceRef Where) : FilterSyntax(Where);

public sealed record NotSyntax(FilterSyntax Operand, SourceRef Where) : FilterSyntax(Where);

/// <summary>
/// One comparison of a field. <paramref name="Values"/> holds the operand(s): none for EXISTS/MISSING, two for
/// BETWEEN, one for the comparisons; <paramref name="IsList"/> says they were written as a parenthesised list
/// (IN, HAS ANY/ALL, and = of a multi-enum set).
/// </summary>
public sealed record PredicateSyntax(string Field, SourceRef Where, FilterOp Op, SourceRef OpWhere, IReadOnlyList<Literal> Values, bool IsList)
    : FilterSyntax(Where);

/// <summary>A filter that cannot run, with where it went wrong and what would be valid.</summary>
public sealed class FilterException(string message, SourceRef where) : Exception(message)
{
    public SourceRef Where { get; } = where;
}

public static class FilterOps
{
    /// <summary>How an operator is written in the text language (and, case-insensitively, in the JSON tree).</summary>
    public static string Text(FilterOp op) => op switch
    {
        FilterOp.Eq => "=",
        FilterOp.Ne => "!=",
        FilterOp.Lt => "<",
        FilterOp.Le => "<=",
        FilterOp.Gt => ">",
        FilterOp.Ge => ">=",
        FilterOp.Between => "BETWEEN",
        FilterOp.Contains => "CONTAINS",
        FilterOp.StartsWith => "STARTS WITH",
        FilterOp.In => "IN",
        FilterOp.HasAny => "HAS ANY",
        FilterOp.HasAll => "HAS ALL",
        FilterOp.Exists => "EXISTS",
        FilterOp.Missing => "MISSING",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>Reads an operator name as the JSON tree writes it: "starts_with", "STARTS WITH" and "Starts With" are one operator.</summary>
    public static FilterOp? Parse(string text)
    {
        var normal = string.Join(' ', text.Replace('_', ' ').Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToUpperInvariant();
        foreach (var op in Enum.GetValues<FilterOp>())
        {
            if (Text(op) == normal)
            {
                return op;
            }
        }
        return null;
    }

    public static string Names(IEnumerable<FilterOp> ops) => string.Join(", ", ops.Select(Text));
}
