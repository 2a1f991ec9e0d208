using Ingestion.Api.Infrastructure.Streaming;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// The stable codes of row and file errors. Codes never change meaning once published; the catalogue in
/// docs/error-codes.md is generated from <see cref="Catalogue"/> by a test that keeps the two equal.
/// </summary>
public static class RowErrorCodes
{
    public const string RowNotObject = "row_not_object";
    public const string MalformedLine = "malformed_line";
    public const string MissingMediaId = "missing_media_id";
    public const string InvalidMediaId = "invalid_media_id";
    public const string MediaNotFound = "media_not_found";
    public const string DuplicateMediaId = "duplicate_media_id";
    public const string ValueAlreadySet = "value_already_set";
    public const string MissingValue = "missing_value";
    public const string WrongType = "wrong_type";
    public const string StringTooLong = "string_too_long";
    public const string StringHasNul = "string_has_nul";
    public const string UnpairedSurrogate = "unpaired_surrogate";
    public const string FloatNotFinite = "float_not_finite";
    public const string FloatInvalid = "float_invalid";
    public const string DatetimeInvalid = "datetime_invalid";
    public const string DatetimeMissingOffset = "datetime_missing_offset";
    public const string EnumNotAnOption = "enum_not_an_option";
    public const string EnumEmptySelection = "enum_empty_selection";
    public const string EnumRepeatedOption = "enum_repeated_option";
    public const string LinkInvalid = "link_invalid";
    public const string LinkTooLong = "link_too_long";

    // File-level: the file itself is broken at a point; rows before it were processed.
    public const string MalformedJson = "malformed_json";
    public const string TruncatedFile = "truncated_file";
    public const string NotAnArray = "not_an_array";
    public const string TrailingContent = "trailing_content";
    public const string TooDeep = "too_deep";
    public const string RowTooLarge = "row_too_large";
    public const string MissingCsvColumn = "missing_csv_column";
    public const string UnbalancedQuote = "unbalanced_quote";
    public const string InvalidUtf8 = "invalid_utf8";
    public const string LineTooLong = "line_too_long";
    public const string CorruptGzip = "corrupt_gzip";
    public const string TooManyRows = "too_many_rows";

    public static readonly IReadOnlyDictionary<string, string> Catalogue = new Dictionary<string, string>
    {
        [RowNotObject] = "The row is not a JSON object. Each row must look like {\"media_id\": \"...\", \"value\": ...}.",
        [MalformedLine] = "A line of an NDJSON file is not valid JSON (or nests too deep) at the given column. The other lines were read; fix this one and send it in a follow-up task.",
        [MissingMediaId] = "The row has no media_id. Add the id of the media item the value belongs to.",
        [InvalidMediaId] = "The media_id is not a UUID string. Use the media_id from the dataset export.",
        [MediaNotFound] = "No media item with this media_id is registered in the dataset. Register the item first, or fix the id.",
        [DuplicateMediaId] = "The same media_id appears on an earlier row of this file; a media item holds one value per field. Keep one row.",
        [ValueAlreadySet] = "The media item already has a value for this field from an earlier upload; values are immutable. Drop the row.",
        [MissingValue] = "The row has no value, or the value is null. Add a value of the field's type.",
        [WrongType] = "The value is not of the field's type (for example a number for a string field). Send the declared type.",
        [StringTooLong] = "The string is longer than the value length limit (4,096 characters unless configured otherwise). Shorten it.",
        [StringHasNul] = "The string contains a NUL character (\\u0000), which cannot be stored. Remove it.",
        [UnpairedSurrogate] = $"A string of the row {JsonText.UnpairedSurrogate}",
        [FloatNotFinite] = "The number is NaN or infinite, or too large for a double. Send a finite number.",
        [FloatInvalid] = "The string is not a number. Send a JSON number or a numeric string such as \"21.5\".",
        [DatetimeInvalid] = "The value is not an ISO 8601 date and time. Use a form like \"2024-02-24T10:00:00Z\".",
        [DatetimeMissingOffset] = "The date and time has no UTC offset, so the instant is ambiguous. Append \"Z\" for UTC or an offset like \"+02:00\".",
        [EnumNotAnOption] = "The value is not one of the field's declared options (matching is exact, case included). Use a declared option.",
        [EnumEmptySelection] = "A multi-select value must hold at least one option. Send a non-empty array, or leave the row out.",
        [EnumRepeatedOption] = "A multi-select value names the same option twice. List each option once.",
        [LinkInvalid] = "The value is not an absolute http or https URL. Send a URL like \"https://example.com/a.jpg\".",
        [LinkTooLong] = "The URL is longer than 2,048 characters. Shorten it.",
        [MalformedJson] = "The JSON array file is not valid JSON at the given line and column. Rows before that point were processed; fix the file there. In NDJSON a broken line fails alone instead (malformed_line).",
        [TruncatedFile] = "The file ends in the middle of a row or before the closing ']'. Upload the complete file.",
        [NotAnArray] = "The file is not a JSON array of rows. Wrap the rows in [ ... ].",
        [TrailingContent] = "There is content after the closing ']'. Remove it.",
        [TooDeep] = "A row nests objects or arrays deeper than the limit. Values are flat: a string, number or array of strings.",
        [RowTooLarge] = "A single row is larger than the per-row limit. Shorten it.",
        [MissingCsvColumn] = "The CSV header does not name the columns a row needs, media_id (or file_name) and value, or names one of them twice. Fix the first line of the file.",
        [UnbalancedQuote] = "A quote in the CSV file opens a value that is never closed. Close it, and write a quote inside a quoted value twice (\"\").",
        [InvalidUtf8] = "The file is not valid UTF-8 at the given line and column. Rows before that point were processed; save the file as UTF-8.",
        [LineTooLong] = "A line of a CSV or NDJSON file is longer than the line limit. Rows before it were processed; split or shorten it.",
        [CorruptGzip] = "The gzip-compressed file is corrupt or cut off from the given point on. Rows before it were processed; compress the file again.",
        [TooManyRows] = "The file holds more rows than one upload may. The rows up to the limit were processed; send the rest in another task.",
    };

    /// <summary>Codes of errors in the file itself rather than in one row; reports mark them <c>is_file_error</c>.</summary>
    public static readonly IReadOnlySet<string> FileLevel = new HashSet<string>
    {
        MalformedJson, TruncatedFile, NotAnArray, TrailingContent, TooDeep, RowTooLarge,
    };

    /// <summary>The catalogue as a Markdown table, row errors first: docs/error-codes.md and the OpenAPI description.</summary>
    public static string CatalogueTable()
    {
        var table = new System.Text.StringBuilder("| code | level | what it means and how to fix it |\n|---|---|---|\n");
        foreach (var (code, sentence) in Catalogue.OrderBy(c => FileLevel.Contains(c.Key)))
        {
            table.Append($"| `{code}` | {(FileLevel.Contains(code) ? "file" : "row")} | {sentence.Replace("|", "\\|")} |\n");
        }
        return table.ToString();
    }

    /// <summary>docs/error-codes.md exactly; a test keeps the committed file equal to this.</summary>
    public static string CatalogueDocument() => $$"""
        # Error codes

        <!-- Generated from RowErrorCodes.Catalogue; the test ErrorCodeCatalogueTests keeps this file equal to it. -->

        Every row that fails validation gets one of these codes, with a reason naming the value and the fix.
        Codes are stable: once published, a code keeps its meaning. A **row** error fails that row alone; every
        other row is still processed. A **file** error means the file itself breaks at a point: rows before it
        were processed, rows after it were not read. The report lists a file error at the index of the first
        row that could not be read, marked `is_file_error: true`.

        Read the errors of a task with `GET /api/v1/datasets/{dataset_id}/custom_metadata/tasks/{task_id}/errors`
        (JSON, paged, filterable by `error_code`) or as a CSV ready to fix and upload again with
        `GET …/tasks/{task_id}/errors.csv`; see error-reports.md.

        {{CatalogueTable()}}
        """;
}
