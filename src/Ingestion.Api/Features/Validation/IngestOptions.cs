namespace Ingestion.Api.Features.Validation;

public sealed class IngestOptions
{
    public const string Section = "Ingestion:Ingest";

    /// <summary>The most rows per checkpoint (fewer when the database is slow). Each checkpoint is one transaction and one progress update.</summary>
    public int BatchRows { get; set; } = 20_000;

    /// <summary>
    /// A field's first upload is bulk-loaded (COPY into its unindexed table, indexes built at the end) when its dataset
    /// holds at most this many media items: the job keeps their ids in memory, 20 bytes each (40 MB at the default).
    /// Past it, the upload inserts batch by batch set-wise into the indexed table, in memory that does not grow with
    /// the dataset.
    /// </summary>
    public int BulkLoadMaxItems { get; set; } = 2_000_000;
}
