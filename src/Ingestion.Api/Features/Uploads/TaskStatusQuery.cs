using Ingestion.Api.Features.Errors;
using Npgsql;

namespace Ingestion.Api.Features.Uploads;

public static class TaskStatusQuery
{
    public static async Task<TaskStatusResponse?> LoadAsync(NpgsqlDataSource db, Guid workspaceId, Guid datasetId, Guid taskId,
        int sampleErrors, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        TaskStatusResponse status;
        await using (var cmd = new NpgsqlCommand("""
            SELECT t.status, t.inserted_rows, t.error_count, f.field_name, t.rows_processed, t.total_rows,
                   t.upload_bytes, t.bytes_processed, t.upload_format, t.failure_reason,
                   t.created_at, t.queued_at, t.started_at, t.completed_at, t.upload_compression, t.dry_run_of, t.load_phase,
                   t.load_pass, t.load_passes, t.load_prepared,
                   t.index_built
            FROM tasks t JOIN fields f ON f.field_id = t.field_id
            WHERE t.task_id = $1 AND t.dataset_id = $2 AND t.workspace_id = $3
            """, conn) { Parameters = { new() { Value = taskId }, new() { Value = datasetId }, new() { Value = workspaceId } } })
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await r.ReadAsync(ct))
            {
                return null;
            }
            var s = r.GetString(0);
            long? uploadBytes = r.IsDBNull(6) ? null : r.GetInt64(6);
            var phase = r.IsDBNull(16) ? null : r.GetString(16);
            var (pass, passes) = (r.GetInt32(17), Math.Max(1, r.GetInt32(18)));
            // Over several passes "processed" means decided: every row stored or refused so far.
            var rowsProcessed = passes > 1 ? r.GetInt64(1) + r.GetInt64(2) : r.GetInt64(4);
            var progress = new TaskProgress(s, phase, pass, passes, r.GetFloat(19), r.GetInt64(7), uploadBytes,
                r.GetFloat(20)).Percent();
            status = new TaskStatusResponse(taskId, TaskStatuses.Public(s), progress, r.GetInt64(1), r.GetInt64(2), [],
                r.GetString(3), rowsProcessed, r.IsDBNull(5) ? null : r.GetInt64(5), uploadBytes,
                r.IsDBNull(8) ? null : r.GetString(8), r.IsDBNull(14) ? null : r.GetString(14), r.IsDBNull(15) ? null : r.GetGuid(15),
                r.IsDBNull(9) ? null : r.GetString(9),
                r.GetDateTime(10), Nullable(r, 11), Nullable(r, 12), Nullable(r, 13),
                $"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}/errors",
                s == TaskStatuses.InProgress ? phase : null);
        }

        var samples = (await RowErrorBlocks.PageAsync(conn, taskId, workspaceId, -1, null, sampleErrors, ct))
            .Select(e => new SampleError(e.RowIndex, e.MediaId, e.ErrorCode, e.Reason, e.Value, e.Line, e.Column))
            .ToList();
        return status with { SampleErrors = samples };
    }

    private static DateTime? Nullable(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetDateTime(i);
}
