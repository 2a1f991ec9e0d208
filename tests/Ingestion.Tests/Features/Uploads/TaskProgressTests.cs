using Ingestion.Api.Features.Uploads;

namespace Ingestion.Tests.Features.Uploads;

/// <summary>
/// The status's progress follows a bulk load through each pass's ledger, its rows and the index builds at the end,
/// and never goes back, not even when a resumed pass rereads its ledger.
/// </summary>
public sealed class TaskProgressTests
{
    private const long Upload = 1_000_000;

    [Fact]
    public void A_bulk_load_in_four_passes_shows_each_ledger_then_its_rows_then_the_index_builds_and_never_goes_back()
    {
        var steps = new List<TaskProgress>();
        for (var pass = 0; pass < 4; pass++)
        {
            steps.AddRange(new[] { 0, 0.3, 0.9, 1 }.Select(ledger => Loading(pass, 4, ledger, 0)));
            steps.AddRange(new[] { 1, 250_000, 999_999, Upload }.Select(bytes => Loading(pass, 4, 1, bytes)));
        }
        steps.AddRange(new double[] { 0, 0.5, 1 }.Select(built => Step(TaskStatuses.InProgress, "indexing", 3, 4, 1, Upload, built)));
        steps.Add(Step(TaskStatuses.Completed, null, 3, 4, 1, Upload, 1));

        var percents = steps.Select(s => s.Percent()).ToList();

        percents.ShouldBeInOrder(SortDirection.Ascending);
        percents.First().ShouldBe(0);
        percents.Last().ShouldBe(100);
        // The first pass's ledger half read: half of its twentieth of its quarter of the rows' 70%.
        Loading(0, 4, 0.5, 0).Percent().ShouldBe(Math.Round(70 * 0.5 * 0.05 / 4, 2));
        // The third pass halfway through its rows.
        Loading(2, 4, 1, Upload / 2).Percent().ShouldBe(Math.Round(70 * (2 + 0.05 + 0.95 * 0.5) / 4, 2));
        // Rows all read and the builds not reported yet: where the rows ended. Built but the task not yet finished: 99.9.
        Step(TaskStatuses.InProgress, "indexing", 3, 4, 1, Upload, 0).Percent().ShouldBe(70);
        Step(TaskStatuses.InProgress, "indexing", 3, 4, 1, Upload, 1).Percent().ShouldBe(99.9);
    }

    [Fact]
    public void A_resumed_pass_rereading_its_ledger_stays_where_its_checkpoint_was()
    {
        var atCheckpoint = Loading(1, 3, 1, Upload / 3).Percent();

        Loading(1, 3, 0, Upload / 3).Percent().ShouldBe(atCheckpoint);
        Loading(1, 3, 0.6, Upload / 3).Percent().ShouldBe(atCheckpoint);
    }

    [Fact]
    public void A_task_through_the_indexed_table_shows_its_checkpoint_in_the_file_over_the_whole_range()
    {
        Step(TaskStatuses.InProgress, null, 0, 1, 0, Upload / 4, 0).Percent().ShouldBe(25);
        Step(TaskStatuses.Queued, null, 0, 1, 0, 0, 0).Percent().ShouldBe(0);
        Step(TaskStatuses.Failed, null, 0, 1, 0, Upload / 4, 0).Percent().ShouldBe(100);
    }

    private static TaskProgress Loading(int pass, int passes, double ledger, long bytes) =>
        Step(TaskStatuses.InProgress, "loading", pass, passes, ledger, bytes, 0);

    private static TaskProgress Step(string status, string? phase, int pass, int passes, double ledger, long bytes, double built) =>
        new(status, phase, pass, passes, ledger, bytes, Upload, built);
}
