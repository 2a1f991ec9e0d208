using Ingestion.Api.Features.Fields;

namespace Ingestion.Tests.Features.Fields;

public sealed class IndexBuildSettingsTests
{
    private static readonly IndexBuildSettings Configured = new(MemoryMb: 128, ParallelWorkers: 0);

    [Theory]
    [InlineData(0)] // not known
    [InlineData(1_000_000)] // about 100 MB of entries: sorted in memory
    public void A_field_whose_entries_fit_keeps_the_whole_memory(long entries) =>
        Configured.For(entries).ShouldBe(Configured);

    [Theory]
    [InlineData(2_000_000)]
    [InlineData(10_000_000)]
    public void A_field_whose_entries_outgrow_the_memory_sorts_in_runs_of_half_of_it(long entries) =>
        Configured.For(entries).ShouldBe(new IndexBuildSettings(MemoryMb: 64, ParallelWorkers: 0));

    [Fact]
    public void The_servers_own_setting_stays_the_servers() =>
        new IndexBuildSettings(MemoryMb: 0, ParallelWorkers: -1).For(10_000_000).ShouldBe(new IndexBuildSettings(0, -1));
}
