using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Auth;
using Ingestion.Api.Infrastructure.Http;
using Ingestion.Api.Infrastructure.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace Ingestion.Api.Features.Uploads;

public sealed record UploadAcceptedResponse(Guid TaskId, string Status, long UploadBytes, string Format);

public sealed record SampleError(long RowIndex, string? MediaId, string ErrorCode, string Reason, string? Value, long? Line, long? Column);

public sealed record TaskStatusResponse(
    Guid TaskId,
    string Status,
    double Progress,
    long InsertedRows,
    long ErrorCount,
    IReadOnlyList<SampleError> SampleErrors,
    string FieldName,
    long RowsProcessed,
    long? TotalRows,
    long? UploadBytes,
    string? UploadFormat,
    string? FailureReason,
    DateTime CreatedAt,
    DateTime? QueuedAt,
    DateTime? StartedAt,
    DateTime? CompletedAt,
    string ErrorsUrl);

public static class UploadsApi
{
    public const int ChunkBytes = 1024 * 1024;
    public const int SampleErrorCount = 20;

    public static IEndpointRouteBuilder MapUploadsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/datasets/{dataset_id:guid}/custom_metadata/tasks").WithTags("Custom metadata");
        group.MapPost("/{task_id:guid}", UploadAsync).RequireAuthorization(Scopes.Write)
            .WithSummary("Upload the values file of a task (multipart part 'file', or the raw body); processed in the background")
            .WithMetadata(new DisableRequestSizeLimitAttribute())
            .WithDescription(IdempotencyKeys.Description).WithIdempotencyKey(hashesJsonBody: false);
        group.MapGet("/{task_id:guid}/status", StatusAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("Progress, counts and a sample of row errors");
        return app;
    }

    private static async Task<Results<Accepted<UploadAcceptedResponse>, ProblemHttpResult>> UploadAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromRoute(Name = "task_id")] Guid taskId,
        HttpContext http, NpgsqlDataSource db, ITaskQueue queue, CancellationToken ct)
    {
        var workspaceId = http.User.WorkspaceId();
        var (body, fileName) = await OpenFileAsync(http.Request, ct);
        if (body is null)
        {
            return TypedResults.Problem(statusCode: 400, title: "No file",
                detail: "Send the file as multipart form part 'file' (curl -F file=@values.json) or as the raw request body.");
        }

        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        // Claiming INIT -> UPLOADING takes the row lock: a concurrent second upload waits, then sees it taken.
        await using (var claim = new NpgsqlCommand("""
            UPDATE tasks SET status = 'UPLOADING'
            WHERE task_id = $1 AND dataset_id = $2 AND workspace_id = $3 AND status = 'INIT'
            RETURNING task_id
            """, conn) { Parameters = { new() { Value = taskId }, new() { Value = datasetId }, new() { Value = workspaceId } } })
        {
            if (await claim.ExecuteScalarAsync(ct) is null)
            {
                return await ExplainUnclaimableAsync(conn, workspaceId, datasetId, taskId, ct);
            }
        }

        var format = UploadFormats.Json;
        long total = 0;
        var buffer = new byte[ChunkBytes];
        var chunkNo = 0;
        while (true)
        {
            var filled = await FillAsync(body, buffer, ct);
            if (filled == 0)
            {
                break;
            }
            if (chunkNo == 0)
            {
                format = DetectFormat(buffer.AsSpan(0, filled), fileName, http.Request.Query["format"]);
            }
            await using var insert = new NpgsqlCommand("INSERT INTO upload_chunks (task_id, chunk_no, data, workspace_id) VALUES ($1, $2, $3, $4)", conn);
            insert.Parameters.Add(new NpgsqlParameter { Value = taskId });
            insert.Parameters.Add(new NpgsqlParameter { Value = chunkNo++ });
            insert.Parameters.Add(new NpgsqlParameter { Value = new ArraySegment<byte>(buffer, 0, filled), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
            insert.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
            await insert.ExecuteNonQueryAsync(ct);
            total += filled;
        }
        if (total == 0)
        {
            return TypedResults.Problem(statusCode: 400, title: "Empty file",
                detail: "The uploaded file is empty. Send a JSON array of {\"media_id\": \"...\", \"value\": ...} rows.");
        }
        await using (var queued = new NpgsqlCommand("""
            UPDATE tasks SET status = 'QUEUED', upload_bytes = $2, upload_format = $3, queued_at = now()
            WHERE task_id = $1
            """, conn) { Parameters = { new() { Value = taskId }, new() { Value = total }, new() { Value = format } } })
        {
            await queued.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);

        // After the commit: a crash right here leaves a QUEUED task that the sweeper queues again.
        await queue.EnqueueAsync(taskId, CancellationToken.None);
        return TypedResults.Accepted($"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}/status",
            new UploadAcceptedResponse(taskId, TaskStatuses.Queued, total, format));
    }

    private static async Task<ProblemHttpResult> ExplainUnclaimableAsync(NpgsqlConnection conn, Guid workspaceId, Guid datasetId,
        Guid taskId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT status FROM tasks WHERE task_id = $1 AND dataset_id = $2 AND workspace_id = $3", conn)
        {
            Parameters = { new() { Value = taskId }, new() { Value = datasetId }, new() { Value = workspaceId } },
        };
        return await cmd.ExecuteScalarAsync(ct) is string status
            ? TypedResults.Problem(statusCode: 409, title: "Task already has an upload",
                detail: $"Task {taskId} already took its upload (status {TaskStatuses.Public(status)}); a task takes one file. " +
                        "Declare a new field, or send more values to this field with a follow-up task.")
            : TaskNotFound(taskId);
    }

    public static ProblemHttpResult TaskNotFound(Guid taskId) =>
        TypedResults.Problem(statusCode: 404, title: "Task not found", detail: $"No task {taskId} in this dataset and workspace.");

    private static async Task<(Stream? Body, string? FileName)> OpenFileAsync(HttpRequest request, CancellationToken ct)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return (request.Body, null);
        }
        var boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary).Value;
        if (string.IsNullOrEmpty(boundary))
        {
            return (null, null);
        }
        var reader = new MultipartReader(boundary, request.Body);
        while (await reader.ReadNextSectionAsync(ct) is { } section)
        {
            if (ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                && (disposition.Name.Value == "file" || disposition.FileName.HasValue || disposition.FileNameStar.HasValue))
            {
                return (section.Body, disposition.FileNameStar.Value ?? disposition.FileName.Value);
            }
        }
        return (null, null);
    }

    private static string DetectFormat(ReadOnlySpan<byte> head, string? fileName, string? forced)
    {
        if (forced is UploadFormats.Json or UploadFormats.Ndjson)
        {
            return forced;
        }
        if (fileName is not null && (fileName.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase) || fileName.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)))
        {
            return UploadFormats.Ndjson;
        }
        var trimmed = head.TrimStart("\xEF\xBB\xBF \t\r\n"u8);
        return trimmed.Length > 0 && trimmed[0] == (byte)'{' ? UploadFormats.Ndjson : UploadFormats.Json;
    }

    private static async Task<int> FillAsync(Stream body, byte[] buffer, CancellationToken ct)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = await body.ReadAsync(buffer.AsMemory(filled), ct);
            if (n == 0)
            {
                break;
            }
            filled += n;
        }
        return filled;
    }

    private static async Task<Results<Ok<TaskStatusResponse>, ProblemHttpResult>> StatusAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromRoute(Name = "task_id")] Guid taskId,
        HttpContext http, NpgsqlDataSource db, CancellationToken ct)
    {
        var status = await TaskStatusQuery.LoadAsync(db, http.User.WorkspaceId(), datasetId, taskId, SampleErrorCount, ct);
        return status is null ? TaskNotFound(taskId) : TypedResults.Ok(status);
    }
}
