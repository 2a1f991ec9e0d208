namespace Ingestion.Api.Features.Validation;

public enum RowValueKind { Missing, Null, String, Number, Boolean, Array, Object }

public enum MediaIdState { Missing, Valid, Invalid }

/// <summary>
/// One row of an uploaded file as any format reader leaves it, before validation. Reused from row to row
/// so that reading a file allocates per value, not per row.
/// </summary>
public sealed class UploadRow
{
    public long RowIndex { get; set; }
    public long Line { get; set; }

    /// <summary>Set when the row is not an object at all (a bare number in the array, say, or an NDJSON line that is not JSON).</summary>
    public string? ShapeError { get; set; }

    /// <summary>The code of <see cref="ShapeError"/>.</summary>
    public string ShapeErrorCode { get; set; } = RowErrorCodes.RowNotObject;

    /// <summary>
    /// The property (media_id, file_name, value) whose text escapes half of a UTF-16 surrogate pair without the other
    /// half: valid JSON, but no character, so the row is refused; that text is kept as written, escapes included.
    /// </summary>
    public string? UnpairedSurrogateIn { get; set; }

    public MediaIdState MediaIdState { get; set; }
    public Guid MediaId { get; set; }

    /// <summary>The media_id as written, kept only when it is not a valid id, for the error report.</summary>
    public string? MediaIdText { get; set; }

    /// <summary>The item's file name, for rows that name the item instead of its id.</summary>
    public string? FileName { get; set; }

    public RowValueKind Kind { get; set; }

    /// <summary>The string value, or the text of a number that does not fit a double, or the raw JSON of an object.</summary>
    public string? Text { get; set; }

    public double Number { get; set; }
    public bool Boolean { get; set; }

    /// <summary>Items of an array value; a null entry is an item that was not a string.</summary>
    public List<string?> Items { get; } = [];

    /// <summary>
    /// An enum field's options, set once for the reader's row: a string value that spells one is read as the option's
    /// own string. Kept across <see cref="Reset"/>.
    /// </summary>
    public OptionTexts? Options { get; init; }

    /// <summary>The raw JSON of array items that were not strings, for the error report.</summary>
    public string? ItemsRaw { get; set; }

    public void Reset(long rowIndex)
    {
        RowIndex = rowIndex;
        Line = 0;
        ShapeError = null;
        ShapeErrorCode = RowErrorCodes.RowNotObject;
        UnpairedSurrogateIn = null;
        MediaIdState = MediaIdState.Missing;
        MediaId = Guid.Empty;
        MediaIdText = null;
        FileName = null;
        Kind = RowValueKind.Missing;
        Text = null;
        Number = 0;
        Boolean = false;
        Items.Clear();
        ItemsRaw = null;
    }
}
