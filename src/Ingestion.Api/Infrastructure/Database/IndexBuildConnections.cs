using Npgsql;

namespace Ingestion.Api.Infrastructure.Database;

/// <summary>
/// The connections a field's index builds run on: a pool of their own, no larger than the most builds one field runs
/// at once, so that every build after the first few lands on a server process that has built before.
/// </summary>
/// <remarks>
/// Why: a build sorts its entries in up to maintenance_work_mem of memory. In a fresh server process, or one whose C
/// library gave that memory back, every first touch of it is a page fault, and on a virtual machine that hands freed
/// memory back to its host each fault is a trip through the hypervisor: in psql a 1M-row key build took 0.43–0.71 s
/// so (0.15–0.39 s of it in the kernel) against 0.34 s in a process that kept its memory from the build before
/// (docs/benchmarks.md, 5 Dec, 21:20). The embedded server keeps freed memory (<see cref="EmbeddedPostgres"/>), but the
/// service's own pool hands out its connections in turn, so a build there mostly met a process that had never built.
/// The price is the memory these few processes keep, up to maintenance_work_mem each, until they sit idle for Npgsql's
/// idle lifetime (5 minutes) and close.
/// Invariant: builds wait for a connection rather than fail, however long the builds ahead of them take (10M rows take
/// 15 s or more), so the pool's wait has no timeout; cancellation still ends the wait.
/// </remarks>
public sealed class IndexBuildConnections : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _owned;

    /// <summary>
    /// A pool of <paramref name="connections"/> to the database <paramref name="connectionString"/> names; 0 (or less)
    /// runs the builds on <paramref name="shared"/>, the service's own pool.
    /// </summary>
    public IndexBuildConnections(NpgsqlDataSource shared, string connectionString, int connections)
    {
        if (connections <= 0)
        {
            _dataSource = shared;
            return;
        }
        var csb = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = connections, MinPoolSize = 0, Timeout = 0 };
        if (string.IsNullOrEmpty(csb.ApplicationName))
        {
            csb.ApplicationName = "ingestion index builds";
        }
        _dataSource = NpgsqlDataSource.Create(csb.ConnectionString);
        _owned = true;
    }

    /// <summary>Builds on <paramref name="shared"/>, a pool that other work uses too.</summary>
    public IndexBuildConnections(NpgsqlDataSource shared) => _dataSource = shared;

    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct) => _dataSource.OpenConnectionAsync(ct);

    public async ValueTask DisposeAsync()
    {
        if (_owned)
        {
            await _dataSource.DisposeAsync();
        }
    }
}
