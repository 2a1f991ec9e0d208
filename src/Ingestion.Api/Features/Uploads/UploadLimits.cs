namespace Ingestion.Api.Features.Uploads;

/// <summary>
/// The bounds one upload must stay within, bound from <c>Ingestion:Limits</c>. They keep a single upload from
/// exhausting the database, memory or a worker: every one of them bounds what one file can cost.
/// </summary>
public sealed class UploadLimits
{
    public const string Section = "Ingestion:Limits";

    /// <summary>The most bytes one upload may take as sent (for gzip, the compressed size). Over it: 413.</summary>
    public long MaxUploadBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>The most rows one file may hold; the rows beyond become one file-level error.</summary>
    public long MaxRows { get; set; } = 50_000_000;

    /// <summary>The most characters a string value may have.</summary>
    public int MaxValueLength { get; set; } = 4096;

    /// <summary>
    /// The most bytes one line of a CSV or NDJSON file may take (and one CSV record, even across quoted line
    /// breaks). A JSON array may be on one line however long; there it bounds one row instead.
    /// </summary>
    public int MaxLineBytes { get; set; } = 1024 * 1024;

    /// <summary>How deeply a JSON row may nest objects and arrays (a row with an array value nests 3 deep).</summary>
    public int MaxJsonDepth { get; set; } = 16;

    public const string SaneDescription =
        "Ingestion:Limits must all be positive, and MaxJsonDepth at least 3 (a row with an array value nests 3 deep).";

    public static bool AreSane(UploadLimits l) =>
        l.MaxUploadBytes > 0 && l.MaxRows > 0 && l.MaxValueLength > 0 && l.MaxLineBytes > 0 && l.MaxJsonDepth >= 3;
}
