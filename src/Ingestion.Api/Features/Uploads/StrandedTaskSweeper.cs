using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Jobs;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingestion.Api.Features.Uploads;

/// <summary>
/// Queues again any task that holds a stored upload but that the job engine does not hold: the service died
/// between committing an upload and queuing it, or a job was cut off by a shutdown. Queuing is idempotent,
/// and the runner resumes from the checkpoint, so a task swept twice is still processed once. Also drops the
/// stored uploads of finished tasks that a node died before dropping, and this node's spill folders of finished tasks.
/// </summary>
public sealed class StrandedTaskSweeper(NpgsqlDataSource db, ITaskQueue queue, IOptions<IngestOptions> ingest, ILogger<StrandedTaskSweeper> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Sweeping stranded tasks failed; trying again in {Interval}", Interval);
            }
            try
            {
                await Task.Delay(Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task SweepAsync(CancellationToken ct)
    {
        var candidates = new List<Guid>();
        await using (var cmd = db.CreateCommand("SELECT task_id FROM tasks WHERE status IN ('QUEUED', 'IN_PROGRESS')"))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                candidates.Add(r.GetGuid(0));
            }
        }
        foreach (var taskId in candidates)
        {
            if (!await queue.IsEnqueuedAsync(taskId, ct))
            {
                logger.LogInformation("Queuing stranded task {TaskId} again", taskId);
                await queue.EnqueueAsync(taskId, ct);
            }
        }
        // A finished task's stored upload is dropped right after its status commits; a node that died in between left it.
        await using var leftovers = db.CreateCommand($"""
            DELETE FROM upload_chunks c USING tasks t
            WHERE c.task_id = t.task_id AND t.status IN {TaskStatuses.FinishedSql}
            """);
        await leftovers.ExecuteNonQueryAsync(ct);
        await RemoveFinishedSpillsAsync(ct);
    }

    /// <summary>
    /// A bulk load in passes removes its spill folder when it ends; one cut off on this node and finished on another
    /// left it here. Only folders of tasks this database knows as finished go: the folder may be shared with services
    /// of other databases.
    /// </summary>
    private async Task RemoveFinishedSpillsAsync(CancellationToken ct)
    {
        var root = ingest.Value.SpillRoot;
        var folders = Directory.Exists(root)
            ? Directory.GetDirectories(root, SliceSpill.FolderPrefix + "*")
                .Select(f => (Folder: f, Ok: Guid.TryParseExact(Path.GetFileName(f)[SliceSpill.FolderPrefix.Length..], "N", out var id), Id: id))
                .Where(f => f.Ok)
                .ToDictionary(f => f.Id, f => f.Folder)
            : [];
        if (folders.Count == 0)
        {
            return;
        }
        await using var cmd = db.CreateCommand($"SELECT task_id FROM tasks WHERE task_id = ANY($1) AND status IN {TaskStatuses.FinishedSql}");
        cmd.Parameters.Add(new NpgsqlParameter { Value = folders.Keys.ToArray() });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            SliceSpill.Remove(folders[r.GetGuid(0)]);
        }
    }
}
