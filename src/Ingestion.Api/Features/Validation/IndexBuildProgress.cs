using System.Diagnostics;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Infrastructure.Database;
using Npgsql;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// Shows a bulk load's index builds in its status (tasks.index_built, 0 to 1) while the job waits on them: every
/// <see cref="Interval"/> it reads PostgreSQL's pg_stat_progress_create_index for the field's table, on a connection of
/// its own, and writes how far the builds are together. The figure never goes back, not even across a restart.
/// </summary>
/// <remarks>
/// A btree build scans the table, sorts its entries, then loads them into the tree. PostgreSQL counts blocks through
/// the scan and entries through the load, but nothing while it sorts; a GIN build counts its scan only. At 10M rows
/// both builds sorted at once for 2.3 s without a counted step, so the status stood still. That stretch is shown as an
/// estimate instead (<see cref="Done"/>): it moves as time passes, on the assumption that the sort takes about as long
/// as the scan did, slows as it goes, and never reaches the share where the counted load takes over. Not covered: a
/// build whose entries outgrow its memory sorts a run of them in the middle of its scan, with its count standing
/// still meanwhile; IndexBuildSettings.For keeps those runs short.
/// A read or write that fails is dropped without failing the builds (<see cref="ProgressWrite"/>).
/// </remarks>
internal sealed class IndexBuildProgress : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    // A build's shares: its counted scan, its uncounted sort (estimated), its counted load.
    private const double ScanShare = 0.4;
    private const double SortShare = 0.2;

    private readonly NpgsqlDataSource _dataSource;
    private readonly Guid _taskId;
    private readonly string _table;
    private readonly int _builds;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<int, BuildClock> _clocks = [];
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Task _watching;
    private double _written;

    private IndexBuildProgress(NpgsqlDataSource dataSource, Guid taskId, FieldDefinition field, bool reload)
    {
        (_dataSource, _taskId, _table, _builds) = (dataSource, taskId, FieldValueTables.BulkTableName(field.FieldId, reload), FieldValueTables.Indexes(field).Length);
        _watching = WatchAsync();
    }

    /// <summary>
    /// Starts watching the builds of <paramref name="field"/>'s table, or with <paramref name="reload"/> its reload
    /// table, for <paramref name="taskId"/>'s status.
    /// </summary>
    public static IndexBuildProgress Start(NpgsqlDataSource dataSource, Guid taskId, FieldDefinition field, bool reload = false) =>
        new(dataSource, taskId, field, reload);

    /// <summary>The builds are done: shows them whole.</summary>
    public async Task CompleteAsync()
    {
        await StopAsync();
        await WriteAsync(null, 1);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    /// <summary>
    /// How far one build is, 0 to 1, from what PostgreSQL reports of it and how long it has scanned and sorted so far.
    /// Once the table is scanned and until entries are counted into the tree, the figure grows with the time since the
    /// scan ended, measured in lengths of the scan, towards the load's start without reaching it.
    /// </summary>
    public static double Done(string phase, long blocksDone, long blocksTotal, long tuplesDone, long tuplesTotal,
        TimeSpan scanning, TimeSpan sinceScan)
    {
        if (phase.Contains("loading tuples", StringComparison.Ordinal))
        {
            return ScanShare + SortShare + (1 - ScanShare - SortShare) * (tuplesTotal > 0 ? Math.Clamp((double)tuplesDone / tuplesTotal, 0, 1) : 0);
        }
        if (!PastScan(phase, blocksDone, blocksTotal))
        {
            return blocksTotal > 0 ? ScanShare * Math.Clamp((double)blocksDone / blocksTotal, 0, 1) : 0;
        }
        var lengths = sinceScan.TotalSeconds / Math.Max(scanning.TotalSeconds, 0.1);
        return ScanShare + SortShare * (1 - Math.Exp(-lengths));
    }

    // Sorting and loading come after the scan; a GIN build, with no phases of its own, is past its scan once it has
    // counted every block.
    private static bool PastScan(string phase, long blocksDone, long blocksTotal) =>
        phase.Contains("sorting", StringComparison.Ordinal) || phase.Contains("loading tuples", StringComparison.Ordinal)
        || (blocksTotal > 0 && blocksDone >= blocksTotal);

    private async Task WatchAsync()
    {
        await Task.Yield();
        try
        {
            await using var conn = await _dataSource.OpenConnectionAsync(_stop.Token);
            // A report need not outlive a crash, so it does not wait for the disk, which the builds keep busy writing
            // their indexes (and, past their memory, their sort runs).
            await conn.ExecuteAsync("SET synchronous_commit = off", _stop.Token);
            while (!_stop.IsCancellationRequested)
            {
                var done = await ReadAsync(conn, _stop.Token);
                if (done > _written)
                {
                    await WriteAsync(conn, done);
                }
                await Task.Delay(Interval, _stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (ProgressWrite.IsDroppable(e))
        {
        }
    }

    /// <summary>How far the builds are together: each finished index counts whole, each running build as it reports.</summary>
    private async Task<double> ReadAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT (SELECT count(*) FROM pg_index i WHERE i.indrelid = r.rel)::int AS built,
                   p.pid, p.phase, p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
            FROM (SELECT to_regclass($1) AS rel) r
            LEFT JOIN pg_stat_progress_create_index p ON p.relid = r.rel
            """, conn) { Parameters = { new() { Value = _table } } };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var (built, running, now) = (0, 0.0, Stopwatch.GetTimestamp());
        while (await reader.ReadAsync(ct))
        {
            built = reader.GetInt32(0);
            if (reader.IsDBNull(1))
            {
                continue;
            }
            var (pid, phase) = (reader.GetInt32(1), reader.GetString(2));
            var (blocksDone, blocksTotal) = (reader.GetInt64(3), reader.GetInt64(4));
            // A build first seen past its scan is taken to have scanned since the watch began.
            var clock = _clocks.TryGetValue(pid, out var known) ? known : new BuildClock(_started, null);
            clock = clock with { ScanEnded = clock.ScanEnded ?? (PastScan(phase, blocksDone, blocksTotal) ? now : null) };
            _clocks[pid] = clock;
            running += Done(phase, blocksDone, blocksTotal, reader.GetInt64(5), reader.GetInt64(6),
                Stopwatch.GetElapsedTime(clock.ScanStarted, clock.ScanEnded ?? now), clock.ScanEnded is { } ended ? Stopwatch.GetElapsedTime(ended, now) : TimeSpan.Zero);
        }
        return Math.Clamp((built + running) / Math.Max(1, _builds), 0, 1);
    }

    /// <summary>Writes on the watch's connection, or with none on a pooled one.</summary>
    private Task WriteAsync(NpgsqlConnection? conn, double done)
    {
        _written = Math.Max(_written, done);
        const string sql = "UPDATE tasks SET index_built = greatest(index_built, $2) WHERE task_id = $1";
        return ProgressWrite.TryAsync(conn is null ? _dataSource.CreateCommand(sql) : new NpgsqlCommand(sql, conn), _taskId, done);
    }

    private async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        await _watching;
    }

    private readonly record struct BuildClock(long ScanStarted, long? ScanEnded);
}
