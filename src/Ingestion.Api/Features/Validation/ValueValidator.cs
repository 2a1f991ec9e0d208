using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Api.Infrastructure.Streaming;

namespace Ingestion.Api.Features.Validation;

/// <summary>A value that passed validation, in the column its type is stored in.</summary>
public struct TypedValue
{
    public string? Text;
    public double? Float;
    public DateTime? Timestamp;
    /// <summary>A multi-select's options by number (<see cref="FieldDefinition.OptionNumbers"/>), in the row's order.</summary>
    public short[]? EnumNumbers;
}

public readonly record struct RowError(string Code, string Reason);

/// <summary>
/// Checks one row against its field's declared type. Pure and allocation-light: the only strings it makes
/// are the ones that get stored, and error text for rows that fail. This is the rule set the JSON Schemas
/// in schemas/ describe; a test holds the two to the same verdicts.
/// </summary>
public static class ValueValidator
{
    public const int MaxStringLength = 4096;
    public const int MaxLinkLength = 2048;
    private const int MaxShownValue = 100;

    /// <summary>
    /// Characters a stored link may not hold: whitespace, control characters and backslashes. Uri.TryCreate
    /// tolerates them (it strips some and turns '\' into '/'), which would store a value other clients cannot follow.
    /// </summary>
    private static readonly SearchValues<char> LinkForbidden =
        SearchValues.Create([.. Enumerable.Range(0, 0x21).Select(c => (char)c), '\u007f', '\\']);

    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd HH:mm:ssK", "yyyy-MM-dd HH:mm:ss.FFFFFFFK", "yyyy-MM-dd HH:mmK",
    ];

    /// <summary>Checks the media reference of a row: the part of validation that does not depend on the field.</summary>
    public static RowError? CheckShape(UploadRow row)
    {
        if (row.ShapeError is not null)
        {
            return new RowError(row.ShapeErrorCode, row.ShapeError);
        }
        if (row.UnpairedSurrogateIn is { } property)
        {
            return new RowError(RowErrorCodes.UnpairedSurrogate, $"The row's {property} {JsonText.UnpairedSurrogate}");
        }
        return row.MediaIdState switch
        {
            MediaIdState.Valid => null,
            MediaIdState.Missing when row.FileName is not null => null,
            MediaIdState.Missing => new RowError(RowErrorCodes.MissingMediaId,
                "The row has no \"media_id\". Add the id of the media item this value belongs to."),
            _ => new RowError(RowErrorCodes.InvalidMediaId,
                $"media_id {Show(row.MediaIdText)} is not a UUID. Use the media_id from the dataset export, e.g. \"0190a6c8-6e1f-7cc1-9a1e-1b2f3c4d5e6f\"."),
        };
    }

    // maxStringLength is the configured value length limit.
    public static RowError? Validate(FieldDefinition field, UploadRow row, out TypedValue value, int maxStringLength = MaxStringLength)
    {
        value = default;
        if (row.Kind is RowValueKind.Missing or RowValueKind.Null)
        {
            return new RowError(RowErrorCodes.MissingValue,
                row.Kind == RowValueKind.Null
                    ? $"The value is null. Send a {Describe(field)}, or leave the row out."
                    : $"The row has no \"value\". Add a {Describe(field)}.");
        }
        return field.Type switch
        {
            FieldType.String => ValidateString(row, ref value, maxStringLength),
            FieldType.Float => ValidateFloat(row, ref value),
            FieldType.Datetime => ValidateDatetime(row, ref value),
            FieldType.Enum when field.IsMulti => ValidateMultiEnum(field, row, ref value),
            FieldType.Enum => ValidateEnum(field, row, ref value),
            FieldType.Link => ValidateLink(row, ref value),
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };
    }

    private static RowError? ValidateString(UploadRow row, ref TypedValue value, int maxStringLength)
    {
        if (row.Kind != RowValueKind.String)
        {
            return WrongType("string", row);
        }
        var s = row.Text!;
        if (s.Length > maxStringLength)
        {
            return new RowError(RowErrorCodes.StringTooLong,
                $"The string has {s.Length:N0} characters; at most {maxStringLength:N0} are allowed. Shorten it.");
        }
        if (s.Contains('\0'))
        {
            return new RowError(RowErrorCodes.StringHasNul, "The string contains a NUL character (\\u0000), which cannot be stored. Remove it.");
        }
        value.Text = s;
        return null;
    }

    private static RowError? ValidateFloat(UploadRow row, ref TypedValue value)
    {
        double d;
        switch (row.Kind)
        {
            case RowValueKind.Number when row.Text is null:
                d = row.Number;
                break;
            case RowValueKind.Number:
                return new RowError(RowErrorCodes.FloatNotFinite, $"The number {Show(row.Text, quote: false)} is too large for a double. Send a finite number.");
            case RowValueKind.String:
                var s = row.Text!.AsSpan().Trim();
                if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d))
                {
                    return new RowError(RowErrorCodes.FloatInvalid, $"Expected float, got {Show(row.Text)}. Send a number such as 21.5.");
                }
                break;
            default:
                return WrongType("float", row);
        }
        if (!double.IsFinite(d))
        {
            return new RowError(RowErrorCodes.FloatNotFinite, $"Expected a finite float, got {ShowValue(row)}. NaN and infinities cannot be stored.");
        }
        value.Float = d;
        return null;
    }

    private static RowError? ValidateDatetime(UploadRow row, ref TypedValue value)
    {
        if (row.Kind != RowValueKind.String)
        {
            return WrongType("datetime string", row);
        }
        var s = row.Text!.Trim();
        if (!DateTimeOffset.TryParseExact(s, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto))
        {
            return new RowError(RowErrorCodes.DatetimeInvalid,
                $"Expected an ISO 8601 datetime, got {Show(row.Text)}. Use a form like \"2024-02-24T10:00:00Z\".");
        }
        if (!HasExplicitOffset(s))
        {
            return new RowError(RowErrorCodes.DatetimeMissingOffset,
                $"Datetime {Show(row.Text)} has no UTC offset, so the instant is ambiguous. Append \"Z\" for UTC or an offset like \"+02:00\".");
        }
        // Kept as PostgreSQL will store it, so a row error shows the value the same on every path.
        value.Timestamp = BinaryCopyWriter.AtPostgresPrecision(dto.UtcDateTime);
        return null;
    }

    /// <summary>An offset is a trailing Z or a ±hh:mm after the time (the date's own '-' come before position 10).</summary>
    private static bool HasExplicitOffset(string s)
    {
        if (s.EndsWith('Z') || s.EndsWith('z'))
        {
            return true;
        }
        var time = s.AsSpan(Math.Min(s.Length, 11));
        return time.IndexOfAny('+', '-') >= 0;
    }

    private static RowError? ValidateEnum(FieldDefinition field, UploadRow row, ref TypedValue value)
    {
        if (row.Kind != RowValueKind.String)
        {
            return WrongType("one of the options as a string", row);
        }
        if (!field.OptionSet.TryGetValue(row.Text!, out var option))
        {
            return NotAnOption(field, row.Text!);
        }
        value.Text = option;
        return null;
    }

    private static RowError? ValidateMultiEnum(FieldDefinition field, UploadRow row, ref TypedValue value)
    {
        if (row.Kind != RowValueKind.Array)
        {
            return WrongType("an array of options", row);
        }
        if (row.Items.Count == 0)
        {
            return new RowError(RowErrorCodes.EnumEmptySelection, "The selection is an empty array. Send at least one option, or leave the row out.");
        }
        var numbers = new short[row.Items.Count];
        for (var i = 0; i < numbers.Length; i++)
        {
            var item = row.Items[i];
            if (item is null)
            {
                return new RowError(RowErrorCodes.WrongType,
                    $"Item {i} of the selection {Show(row.ItemsRaw, quote: false)} is not a string. Send an array of option strings.");
            }
            if (!field.OptionNumbers.TryGetValue(item, out var number))
            {
                return NotAnOption(field, item);
            }
            if (numbers.AsSpan(0, i).Contains(number))
            {
                return new RowError(RowErrorCodes.EnumRepeatedOption, $"Option {Show(item)} is listed twice. List each option once.");
            }
            numbers[i] = number;
        }
        value.EnumNumbers = numbers;
        return null;
    }

    private static RowError? ValidateLink(UploadRow row, ref TypedValue value)
    {
        if (row.Kind != RowValueKind.String)
        {
            return WrongType("link (a URL string)", row);
        }
        var s = row.Text!;
        if (s.Length > MaxLinkLength)
        {
            return new RowError(RowErrorCodes.LinkTooLong, $"The URL has {s.Length:N0} characters; at most {MaxLinkLength:N0} are allowed.");
        }
        if (s.AsSpan().ContainsAny(LinkForbidden)
            || !Uri.TryCreate(s, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host))
        {
            return new RowError(RowErrorCodes.LinkInvalid,
                $"Expected an absolute http or https URL without spaces, control characters or backslashes, got {Show(s)}. " +
                "Send a URL like \"https://example.com/a.jpg\".");
        }
        value.Text = s;
        return null;
    }

    private static RowError NotAnOption(FieldDefinition field, string given)
    {
        var shown = string.Join(", ", field.EnumOptions.Take(10).Select(o => $"\"{o}\""));
        if (field.EnumOptions.Count > 10)
        {
            shown += $" and {field.EnumOptions.Count - 10} more";
        }
        var near = field.EnumOptions.FirstOrDefault(o => string.Equals(o, given, StringComparison.OrdinalIgnoreCase));
        var hint = near is not null ? $" Did you mean \"{near}\"? Options match exactly, case included." : "";
        return new RowError(RowErrorCodes.EnumNotAnOption, $"{Show(given)} is not an option of field '{field.Name}'; expected one of {shown}.{hint}");
    }

    private static RowError WrongType(string expected, UploadRow row) =>
        new(RowErrorCodes.WrongType, $"Expected {expected}, got {KindName(row.Kind)} {ShowValue(row)}.");

    private static string Describe(FieldDefinition field) => field.Type switch
    {
        FieldType.Enum when field.IsMulti => "non-empty array of options",
        FieldType.Enum => "option string",
        FieldType.Datetime => "datetime string",
        FieldType.Link => "URL string",
        var t => FieldDefinition.WireName(t),
    };

    private static string KindName(RowValueKind kind) => kind switch
    {
        RowValueKind.String => "string",
        RowValueKind.Number => "number",
        RowValueKind.Boolean => "boolean",
        RowValueKind.Array => "array",
        RowValueKind.Object => "object",
        _ => "nothing",
    };

    /// <summary>The offending value as the report shows it: JSON-like, truncated.</summary>
    public static string ShowValue(UploadRow row) => row.Kind switch
    {
        RowValueKind.String => Show(row.Text),
        RowValueKind.Number => row.Text ?? row.Number.ToString("R", CultureInfo.InvariantCulture),
        RowValueKind.Boolean => row.Boolean ? "true" : "false",
        RowValueKind.Array => Show(row.ItemsRaw ?? "[" + string.Join(", ", row.Items.Select(i => i is null ? "null" : $"\"{i}\"")) + "]", quote: false),
        RowValueKind.Object => Show(row.Text ?? "{...}", quote: false),
        RowValueKind.Null => "null",
        _ => "",
    };

    /// <summary>
    /// The value as uploaded, kept beside a row error so the error report can hand the row back for fixing:
    /// strings raw, numbers as written, arrays and objects as JSON text. Only values longer than
    /// <see cref="MaxStoredValue"/> are cut, and a cut value is still longer than any valid one, so sending it
    /// back unfixed fails again instead of storing something the user never wrote.
    /// </summary>
    public static string? StoredValue(UploadRow row) => row.Kind switch
    {
        RowValueKind.Missing or RowValueKind.Null => null,
        RowValueKind.String => Truncate(row.Text!, MaxStoredValue),
        RowValueKind.Number => row.Text ?? row.Number.ToString("R", CultureInfo.InvariantCulture),
        RowValueKind.Boolean => row.Boolean ? "true" : "false",
        RowValueKind.Array => Truncate(row.ItemsRaw ?? JsonSerializer.Serialize(row.Items, RawJson), MaxStoredValue),
        _ => Truncate(row.Text ?? "{}", MaxStoredValue),
    };

    /// <summary>Longest value text kept with a row error; well above every valid value's limit.</summary>
    public const int MaxStoredValue = 16 * MaxStringLength;

    // The stored JSON goes into CSV and JSON reports, never into HTML: keep non-ASCII text readable.
    private static readonly JsonSerializerOptions RawJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Show(string? s, bool quote = true)
    {
        if (s is null)
        {
            return "nothing";
        }
        var t = Truncate(s, MaxShownValue);
        if (!quote)
        {
            return t;
        }
        var sb = new StringBuilder(t.Length + 2).Append('"');
        foreach (var c in t)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\0' => "\\u0000",
                _ => c.ToString(),
            });
        }
        return sb.Append('"').ToString();
    }

    public static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
