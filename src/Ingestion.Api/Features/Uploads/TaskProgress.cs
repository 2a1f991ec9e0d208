namespace Ingestion.Api.Features.Uploads;

/// <summary>
/// Where a task is, as the status endpoint's <c>progress</c> (0 to 100) shows it, from the task's checkpoint.
/// </summary>
/// <param name="Status">tasks.status.</param>
/// <param name="Phase">tasks.load_phase: loading or indexing for a bulk load, null for a task through the indexed table.</param>
/// <param name="Pass">The pass the checkpoint belongs to (0-based).</param>
/// <param name="Passes">How many passes the load makes over the file: 1 unless bulk-loaded in passes.</param>
/// <param name="LedgerRead">How far the pass has read its ledger of items, 0 to 1 (LedgerProgress).</param>
/// <param name="BytesProcessed">The checkpoint within the pass, in bytes of the stored upload.</param>
/// <param name="UploadBytes">The stored upload's size.</param>
/// <param name="IndexBuilt">How far a bulk load's index builds are together, 0 to 1 (IndexBuildProgress); read in the indexing phase only.</param>
public sealed record TaskProgress(string Status, string? Phase, int Pass, int Passes, double LedgerRead, long BytesProcessed,
    long? UploadBytes, double IndexBuilt)
{
    // A pass first reads its ledger, then its rows: the ledger is shown as the pass's first twentieth.
    private const double LedgerShare = 0.05;

    // A bulk load spends about a third of its time building indexes after the last row (measured on 1M floats), so its
    // rows fill the first 70% and the index builds the rest.
    private const double RowsShare = 70;

    public double Percent()
    {
        if (TaskStatuses.IsFinished(Status))
        {
            return 100;
        }
        if (Status != TaskStatuses.InProgress)
        {
            return 0;
        }
        var passes = Math.Max(1, Passes);
        var bytes = UploadBytes > 0 ? (double)BytesProcessed / UploadBytes.Value : 0;
        // A checkpoint comes only once the pass's ledger is whole; a resumed pass rereads its ledger while its checkpoint
        // stands, and must not look as if it went back.
        var withinPass = Phase == "loading"
            ? Math.Max(LedgerShare * Math.Clamp(LedgerRead, 0, 1), BytesProcessed > 0 ? LedgerShare + (1 - LedgerShare) * bytes : 0)
            : bytes;
        var read = (Pass + withinPass) / passes;
        var percent = Phase switch
        {
            "indexing" => RowsShare + (99.9 - RowsShare) * Math.Clamp(IndexBuilt, 0, 1),
            "loading" => RowsShare * read,
            _ => 100 * read,
        };
        // Hundredths, so that the first ledger of a load in ten passes, a third of a percent, shows its steps.
        return Math.Min(99.9, Math.Round(percent, 2));
    }
}
