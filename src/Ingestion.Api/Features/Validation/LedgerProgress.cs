using System.Diagnostics;
using Npgsql;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// Shows in the task's status how far its pass has read its ledger (tasks.load_prepared), while the job's own
/// connection is busy streaming the items. Each report is written on a pooled connection of its own, at most one in
/// flight and one every <see cref="Interval"/>; a report that finds a write in flight is skipped, since the next one
/// carries a later figure anyway. A write that fails is dropped (<see cref="ProgressWrite"/>).
/// </summary>
/// <param name="dataSource">Where the reports are written, each on a pooled connection of its own.</param>
/// <param name="taskId">The task whose status shows them.</param>
/// <param name="from">Where the reports start: a later share of the pass's preparing, when something came before the ledger.</param>
internal sealed class LedgerProgress(NpgsqlDataSource dataSource, Guid taskId, double from = 0)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private Task _writing = Task.CompletedTask;
    private long _lastWrite = Stopwatch.GetTimestamp();

    /// <summary>The pass's ledger is read to <paramref name="fraction"/> (0 to 1).</summary>
    public void Report(double fraction)
    {
        if (!_writing.IsCompleted || Stopwatch.GetElapsedTime(_lastWrite) < Interval)
        {
            return;
        }
        _lastWrite = Stopwatch.GetTimestamp();
        _writing = WriteAsync(from + (1 - from) * Math.Clamp(fraction, 0, 1));
    }

    /// <summary>
    /// The ledger is read: shows it whole (or, for a step before the ledger, <paramref name="upTo"/>), once any report
    /// still in flight has landed.
    /// </summary>
    public async Task CompleteAsync(double upTo = 1)
    {
        await _writing;
        await WriteAsync(upTo);
    }

    private Task WriteAsync(double fraction) =>
        ProgressWrite.TryAsync(dataSource.CreateCommand("UPDATE tasks SET load_prepared = $2 WHERE task_id = $1"), taskId, fraction);
}
