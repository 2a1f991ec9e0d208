using System.Diagnostics;
using Npgsql;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// Shows in the task's status how far its pass has read its ledger (tasks.load_prepared), while the job's own
/// connection is busy streaming the items. Each report is written on a pooled connection of its own, at most one in
/// flight and one every <see cref="Interval"/>; a report that finds a write in flight is skipped, since the next one
/// carries a later figure anyway. A write that fails is dropped (<see cref="ProgressWrite"/>).
/// </summary>
internal sealed class LedgerProgress(NpgsqlDataSource dataSource, Guid taskId)
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
        _writing = WriteAsync(Math.Clamp(fraction, 0, 1));
    }

    /// <summary>The ledger is read: shows it whole, once any report still in flight has landed.</summary>
    public async Task CompleteAsync()
    {
        await _writing;
        await WriteAsync(1);
    }

    private Task WriteAsync(double fraction) =>
        ProgressWrite.TryAsync(dataSource.CreateCommand("UPDATE tasks SET load_prepared = $2 WHERE task_id = $1"), taskId, fraction);
}
