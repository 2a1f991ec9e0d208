using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Infrastructure.Database;

public sealed class EmbeddedPostgresTests
{
    [Fact]
    public async Task The_server_asks_its_C_library_for_huge_pages_so_index_builds_do_not_fault_on_every_4_KiB()
    {
        await using var conn = await TestDatabase.OpenConnectionAsync();
        var backend = await conn.ScalarAsync<int>("SELECT pg_backend_pid()", CancellationToken.None);

        // A backend is forked from the server and inherits its environment, entries separated by NUL.
        var environment = (await File.ReadAllTextAsync($"/proc/{backend}/environ")).Split('\0');

        environment.ShouldContain(e => e.StartsWith("GLIBC_TUNABLES=", StringComparison.Ordinal) && e.Contains("glibc.malloc.hugetlb=1"));
    }
}
