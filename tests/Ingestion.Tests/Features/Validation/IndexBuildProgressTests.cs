using Ingestion.Api.Features.Validation;

namespace Ingestion.Tests.Features.Validation;

/// <summary>
/// An index build's progress follows PostgreSQL's counts through the table scan and the load into the tree, and keeps
/// moving through the sort between them, which PostgreSQL does not count, without ever reaching the load's share.
/// </summary>
public sealed class IndexBuildProgressTests
{
    private const string Scanning = "building index: scanning table";
    private const string Sorting = "building index: sorting live tuples";
    private const string Loading = "building index: loading tuples in tree";
    private static readonly TimeSpan Scan = TimeSpan.FromSeconds(2);

    [Fact]
    public void A_btree_build_moves_through_its_scan_its_uncounted_sort_and_its_load_and_never_goes_back()
    {
        var steps = new List<double>
        {
            IndexBuildProgress.Done("initializing", 0, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero),
            IndexBuildProgress.Done(Scanning, 100, 1000, 0, 0, TimeSpan.FromSeconds(0.2), TimeSpan.Zero),
            IndexBuildProgress.Done(Scanning, 900, 1000, 0, 0, TimeSpan.FromSeconds(1.8), TimeSpan.Zero),
        };
        // Sorting for a quarter, a half, one, two and ten lengths of the scan: every report a step further.
        steps.AddRange(new[] { 0.25, 0.5, 1, 2, 10 }.Select(lengths =>
            IndexBuildProgress.Done(Sorting, 1000, 1000, 0, 0, Scan, Scan * lengths)));
        var sortedLongest = steps[^1];
        steps.AddRange(new long[] { 0, 500, 1000 }.Select(tuples =>
            IndexBuildProgress.Done(Loading, 1000, 1000, tuples, 1000, Scan, Scan)));

        steps.ShouldBeInOrder(SortDirection.Ascending);
        steps.Skip(3).Take(5).Distinct().Count().ShouldBe(5);
        steps[0].ShouldBe(0);
        steps[^1].ShouldBe(1);
        // However long the sort, it stays short of where the counted load starts.
        sortedLongest.ShouldBeLessThan(IndexBuildProgress.Done(Loading, 1000, 1000, 0, 1000, Scan, Scan));
    }

    [Fact]
    public void A_gin_build_past_its_counted_scan_keeps_moving_while_it_writes_its_entries()
    {
        var scanned = IndexBuildProgress.Done("building index", 1000, 1000, 0, 0, Scan, TimeSpan.Zero);
        var later = IndexBuildProgress.Done("building index", 1000, 1000, 0, 0, Scan, Scan);

        scanned.ShouldBeGreaterThan(IndexBuildProgress.Done("building index", 999, 1000, 0, 0, Scan, TimeSpan.Zero));
        later.ShouldBeGreaterThan(scanned);
        later.ShouldBeLessThan(1);
    }
}
