namespace Ingestion.Api.Features.Validation;

/// <summary>
/// Where one task's time went, per phase, logged at Debug when the task ends: the profile the ingest benchmark
/// reads. The reading stage and the database stage run at the same time, so their sums can exceed the wall time.
/// </summary>
internal sealed class IngestTimings
{
    /// <summary>Reading stored chunks, parsing and validating rows.</summary>
    public TimeSpan Read;

    /// <summary>The reading stage blocked because the database stage was still busy with earlier batches.</summary>
    public TimeSpan ReadWaiting;

    /// <summary>Loading the bulk load's ledger of the dataset's media items.</summary>
    public TimeSpan Ledger;

    /// <summary>Binary COPY of a batch: into the staging table, or for a bulk load straight into the field's table.</summary>
    public TimeSpan Copy;

    /// <summary>The classify-and-insert statement: media lookups, duplicate detection, inserting values.</summary>
    public TimeSpan Classify;

    /// <summary>The end of each batch's transaction, one round trip: the row errors found in C#, the checkpoint, the commit.</summary>
    public TimeSpan Commit;

    /// <summary>A bulk load's index builds and attach, at the end.</summary>
    public TimeSpan Index;

    /// <summary>Gathering the planner's statistics on the field's table, at the end.</summary>
    public TimeSpan Analyze;

    /// <summary>The database stage idle, waiting for the next batch to be read.</summary>
    public TimeSpan DatabaseWaiting;

    public override string ToString() =>
        $"read+parse+validate {Read.TotalSeconds:F2}s (blocked on the database {ReadWaiting.TotalSeconds:F2}s); " +
        $"copy {Copy.TotalSeconds:F2}s, classify+insert {Classify.TotalSeconds:F2}s, row errors+checkpoint+commit {Commit.TotalSeconds:F2}s " +
        $"(idle waiting for rows {DatabaseWaiting.TotalSeconds:F2}s); ledger {Ledger.TotalSeconds:F2}s, index+attach {Index.TotalSeconds:F2}s, statistics {Analyze.TotalSeconds:F2}s";
}
