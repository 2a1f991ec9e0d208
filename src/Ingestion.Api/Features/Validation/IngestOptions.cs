using Ingestion.Api.Features.Fields;

namespace Ingestion.Api.Features.Validation;

public sealed class IngestOptions
{
    public const string Section = "Ingestion:Ingest";

    /// <summary>The most rows per checkpoint (fewer when the database is slow). Each checkpoint is one transaction and one progress update.</summary>
    public int BatchRows { get; set; } = 20_000;

    /// <summary>
    /// A field's first upload is bulk-loaded (COPY into its unindexed table, indexes built at the end) against a ledger
    /// of its dataset's media items, 20 bytes an item, which holds at most this many items at once (20 MB at the
    /// default). A larger dataset is split into slices of about this size by a hash of the item id, one pass over the
    /// file per slice, so memory stays the same whatever the dataset's size. 0 turns bulk loading off.
    /// </summary>
    public int BulkLoadMaxItems { get; set; } = 1_000_000;

    /// <summary>
    /// The fewest rows (estimated from the upload's size, 64 bytes a row) for which a later upload to an indexed field
    /// is bulk-loaded into the field's reload table and swapped in, instead of inserted into the indexed table row by
    /// row: the copy of the field's values and the index builds over all of them are worth it only for a large upload.
    /// It must also hold at least half as many rows as the field has values, and the dataset fit one ledger. 0: never.
    /// </summary>
    public int ReloadMinRows { get; set; } = 100_000;

    /// <summary>
    /// How long, in seconds, the item ids a one-pass bulk load read are kept unused for the next field's first upload
    /// into the same dataset (<see cref="DatasetItemKeyCache"/>): one dataset's at a time, up to 20 MB at the default
    /// <see cref="BulkLoadMaxItems"/>. 0: never kept.
    /// </summary>
    public int KeepItemIdsSeconds { get; set; } = 600;

    /// <summary>
    /// The most passes a bulk load makes; a dataset that would need more (over 16M items at the defaults) takes the
    /// set-wise SQL path, as does an upload too small for its dataset to be worth a pass per slice.
    /// </summary>
    public int BulkLoadMaxPasses { get; set; } = 16;

    /// <summary>
    /// Where the first pass of a bulk load in passes leaves each later slice's checked rows (a folder per task, removed
    /// when the task ends), so later passes need not parse the upload again. Unset: the system's temp folder.
    /// </summary>
    public string? SpillDirectory { get; set; }

    /// <summary>The folder spill folders go in: <see cref="SpillDirectory"/>, or the system's temp folder.</summary>
    public string SpillRoot => SpillDirectory ?? Path.GetTempPath();

    /// <summary>
    /// PostgreSQL's maintenance_work_mem for each of a bulk load's index builds, in MB (a field's builds run at once,
    /// two or three). Enough to sort a 1M-value field's index in memory instead of in temporary files; a larger field
    /// is sorted in runs of this size, each sorted in the middle of the build's scan while its count stands still, so
    /// the size also bounds how long the status waits: at 10M rows 256 MB runs held it still for 1.3–2.3 s, 128 MB
    /// runs for under 1.1 s, with index phases of 15.2–19.1 s against 16.4–19.1 s. A field's table larger than this
    /// sorts in runs of half this (<see cref="IndexBuildSettings.For"/>). 0: the server's own setting.
    /// </summary>
    public int IndexBuildMemoryMb { get; set; } = 128;

    /// <summary>
    /// PostgreSQL's max_parallel_maintenance_workers for each of those builds; negative: the server's own setting.
    /// The builds already run at once, one per index, so on a server with few cores extra workers only compete with
    /// them: on 2 cores, 1M floats built in 2.0 s without workers against 2.4 s with the server's 2 each, and 10M in
    /// 14.7–15.8 s against 17.2–17.8 s. Raise it for a server with more cores than a field has indexes (two or three).
    /// </summary>
    public int IndexBuildParallelWorkers { get; set; }

    public IndexBuildSettings IndexBuilds => new(IndexBuildMemoryMb, IndexBuildParallelWorkers);
}
