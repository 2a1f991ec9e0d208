using Ingestion.Api.Features.Fields;

namespace Ingestion.Tests.Features.Fields;

public sealed class IndexBuildSettingsTests
{
    private static readonly IndexBuildSettings Configured = new(MemoryMb: 128, ParallelWorkers: 0);

    [Theory]
    [InlineData(0)] // an empty table
    [InlineData(88L << 20)] // 1M float values: sorted in memory
    [InlineData(128L << 20)]
    public void A_table_that_fits_keeps_the_whole_memory(long tableBytes) =>
        Configured.For(tableBytes).ShouldBe(Configured);

    [Theory]
    [InlineData((128L << 20) + 1)]
    [InlineData(880L << 20)] // 10M float values
    public void A_table_larger_than_the_memory_sorts_in_runs_of_half_of_it(long tableBytes) =>
        Configured.For(tableBytes).ShouldBe(new IndexBuildSettings(MemoryMb: 64, ParallelWorkers: 0));

    [Fact]
    public void The_servers_own_setting_stays_the_servers() =>
        new IndexBuildSettings(MemoryMb: 0, ParallelWorkers: -1).For(880L << 20).ShouldBe(new IndexBuildSettings(0, -1));
}
