using System.IO.Compression;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Auth;
using Ingestion.Api.Infrastructure.Http;
using Ingestion.Api.Infrastructure.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace Ingestion.Api.Features.Uploads;

/// <summary>The answer to an upload. DryRunOf, for a dry run: the task whose field the file was validated for (it stays open).</summary>
public sealed record UploadAcceptedResponse(Guid TaskId, string Status, long UploadBytes, string Format, string? Compression, Guid? DryRunOf);

public sealed record SampleError(long RowIndex, string? MediaId, string ErrorCode, string Reason, string? Value, long? Line, long? Column);

/// <summary>
/// A task's progress and counts. Phase, while a field's first upload is bulk-loaded: "loading" (rows into the field's
/// table), then "indexing" (its indexes are built once at the end, which Progress follows too). Null otherwise.
/// </summary>
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
    string? UploadCompression,
    Guid? DryRunOf,
    string? FailureReason,
    DateTime CreatedAt,
    DateTime? QueuedAt,
    DateTime? StartedAt,
    DateTime? CompletedAt,
    string ErrorsUrl,
    string? Phase = null);

public static class UploadsApi
{
    public const int ChunkBytes = 1024 * 1024;
    public const int SampleErrorCount = 20;

    public static IEndpointRouteBuilder MapUploadsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/datasets/{dataset_id:guid}/custom_metadata/tasks").WithTags("Custom metadata");
        group.MapPost("/{task_id:guid}", UploadAsync).RequireAuthorization(Scopes.Write)
            .WithSummary("Upload the values file of a task (multipart part 'file', or the raw body); processed in the background")
            .WithDescription("""
                Formats: a JSON array of {"media_id", "value"} rows, NDJSON (one row object per line), or CSV with a header
                naming media_id (or file_name) and value; other CSV columns are ignored, an empty cell is a missing value and a
                multi-select cell holds a JSON array such as ["red","blue"]. Rows may name the item by file_name instead of media_id.
                The format comes from the file name's extension (.json, .ndjson/.jsonl, .csv), else the part's or body's
                Content-Type, else the first bytes; format=json|ndjson|csv forces it. Gzip is accepted as a .gz file, as
                Content-Encoding: gzip, or recognised by its first bytes, and is decompressed as it is processed.
                An upload over the size limit answers 413 with the limit, before anything is kept. A file that breaks part-way
                (invalid JSON, a quote never closed, invalid UTF-8, a line over the limit, a truncated file) keeps the rows
                before the break and reports the break as one file-level row error with its line and column. In NDJSON, a line
                that is not valid JSON fails alone (malformed_line) and the lines after it are read. A UTF-8 byte-order mark is
                skipped in every format.

                dry_run=true validates the whole file exactly as a real upload would (types, unknown media, repeats in the
                file, values already set) without storing any value. It answers a new dry-run task (dry_run_of names this
                task), whose status URL reports the same counts and sample errors; this task stays in INIT for the real upload.
                """ + "\n" + IdempotencyKeys.Description)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithMetadata(new DisableRequestSizeLimitAttribute())
            .WithIdempotencyKey(hashesJsonBody: false);
        group.MapGet("/{task_id:guid}/status", StatusAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("Progress, counts and a sample of row errors");
        return app;
    }

    private static async Task<Results<Accepted<UploadAcceptedResponse>, ProblemHttpResult>> UploadAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromRoute(Name = "task_id")] Guid taskId,
        [FromQuery(Name = "format")] string? forcedFormat, [FromQuery(Name = "dry_run")] bool? dryRun,
        HttpContext http, NpgsqlDataSource db, ITaskQueue queue, IOptions<UploadLimits> limitOptions, CancellationToken ct)
    {
        try
        {
            return await ReceiveAsync(datasetId, taskId, forcedFormat, dryRun == true, http, db, queue, limitOptions.Value, ct);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // A multipart form or gzip-encoded form that breaks while it is read; nothing of it was kept.
            return TypedResults.Problem(statusCode: 400, title: "Unreadable request body",
                detail: $"The request body could not be read: {e.Message} Nothing was kept; check the multipart form (or its gzip encoding) and send it again.");
        }
    }

    private static async Task<Results<Accepted<UploadAcceptedResponse>, ProblemHttpResult>> ReceiveAsync(Guid datasetId, Guid taskId,
        string? forcedFormat, bool dryRun, HttpContext http, NpgsqlDataSource db, ITaskQueue queue, UploadLimits limits, CancellationToken ct)
    {
        var workspaceId = http.User.WorkspaceId();
        if (forcedFormat is not null && !UploadFormats.All.Contains(forcedFormat))
        {
            return TypedResults.Problem(statusCode: 400, title: "Unknown format",
                detail: $"format={forcedFormat} is not a format this service reads; use one of {string.Join(", ", UploadFormats.All)}, or leave it out to detect it.");
        }
        if (http.Request.ContentLength > limits.MaxUploadBytes)
        {
            return TooLarge(limits);
        }
        var encoding = http.Request.Headers.ContentEncoding.ToString();
        var gzipEncoded = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (encoding.Length > 0 && !gzipEncoded && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem(statusCode: 415, title: "Unsupported Content-Encoding",
                detail: $"Content-Encoding: {encoding} is not supported. Send the body uncompressed, or compressed with gzip (Content-Encoding: gzip).");
        }
        var file = await OpenFileAsync(http.Request, gzipEncoded, ct);
        if (file is null)
        {
            return TypedResults.Problem(statusCode: 400, title: "No file",
                detail: "Send the file as multipart form part 'file' (curl -F file=@values.json) or as the raw request body.");
        }

        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var uploadTaskId = dryRun ? Guid.CreateVersion7() : taskId;
        await using (var claim = new NpgsqlCommand(dryRun ? OpenDryRunSql : ClaimSql, conn)
        {
            Parameters = { new() { Value = taskId }, new() { Value = datasetId }, new() { Value = workspaceId } },
        })
        {
            if (dryRun)
            {
                claim.Parameters.Add(new NpgsqlParameter { Value = uploadTaskId });
            }
            if (await claim.ExecuteScalarAsync(ct) is null)
            {
                return await ExplainUnclaimableAsync(conn, workspaceId, datasetId, taskId, ct);
            }
        }

        string? format = null, compression = null;
        long total = 0;
        var buffer = new byte[ChunkBytes];
        var chunkNo = 0;
        while (true)
        {
            var filled = await FillAsync(file.Body, buffer, limits.MaxUploadBytes - total + 1, ct);
            if (filled == 0)
            {
                break;
            }
            total += filled;
            if (total > limits.MaxUploadBytes)
            {
                return TooLarge(limits); // the transaction rolls back: nothing of the body is kept
            }
            if (chunkNo == 0)
            {
                compression = UploadFormatDetection.IsGzip(buffer.AsSpan(0, filled)) ? UploadFormats.Gzip : null;
                if (file.GzipDeclared && compression is null)
                {
                    return TypedResults.Problem(statusCode: 400, title: "Body is not gzip",
                        detail: "The request says Content-Encoding: gzip, but the body does not start with the gzip signature (1f 8b). " +
                                "Compress the body with gzip, or drop the header.");
                }
                format = forcedFormat ?? UploadFormatDetection.Detect(file.FileName, file.ContentType, buffer.AsSpan(0, filled), compression);
            }
            await using var insert = new NpgsqlCommand("INSERT INTO upload_chunks (task_id, chunk_no, data, workspace_id) VALUES ($1, $2, $3, $4)", conn);
            insert.Parameters.Add(new NpgsqlParameter { Value = uploadTaskId });
            insert.Parameters.Add(new NpgsqlParameter { Value = chunkNo++ });
            insert.Parameters.Add(new NpgsqlParameter { Value = new ArraySegment<byte>(buffer, 0, filled), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
            insert.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
            await insert.ExecuteNonQueryAsync(ct);
        }
        if (total == 0 || format is null)
        {
            return TypedResults.Problem(statusCode: 400, title: "Empty file",
                detail: "The uploaded file is empty. Send a JSON array of {\"media_id\": \"...\", \"value\": ...} rows, NDJSON, or CSV with a media_id,value header.");
        }
        // clock_timestamp(), not now(): the transaction began before the body's first byte was read, and a task is
        // queued once its whole file is stored, which for a large or slow upload is seconds later.
        await using (var queued = new NpgsqlCommand("""
            UPDATE tasks SET status = 'QUEUED', upload_bytes = $2, upload_format = $3, upload_compression = $4, queued_at = clock_timestamp()
            WHERE task_id = $1
            """, conn)
        {
            Parameters =
            {
                new() { Value = uploadTaskId }, new() { Value = total }, new() { Value = format },
                new() { Value = (object?)compression ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
            },
        })
        {
            await queued.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);

        // After the commit: a crash right here leaves a QUEUED task that the sweeper queues again.
        await queue.EnqueueAsync(uploadTaskId, CancellationToken.None);
        return TypedResults.Accepted($"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{uploadTaskId}/status",
            new UploadAcceptedResponse(uploadTaskId, TaskStatuses.Queued, total, format, compression, dryRun ? taskId : null));
    }

    // Claiming INIT -> UPLOADING takes the row lock: a concurrent second upload waits, then sees it taken.
    private const string ClaimSql = """
        UPDATE tasks SET status = 'UPLOADING'
        WHERE task_id = $1 AND dataset_id = $2 AND workspace_id = $3 AND status = 'INIT'
        RETURNING task_id
        """;

    // A dry run is a task of its own for the same field, so its rows, errors and status never touch the task it
    // stands for, which stays INIT. Only an open task can be dry-run: afterwards a real upload is still possible.
    private const string OpenDryRunSql = """
        INSERT INTO tasks (task_id, workspace_id, dataset_id, field_id, status, dry_run_of)
        SELECT $4, workspace_id, dataset_id, field_id, 'UPLOADING', task_id
        FROM tasks
        WHERE task_id = $1 AND dataset_id = $2 AND workspace_id = $3 AND status = 'INIT'
        RETURNING task_id
        """;

    private static ProblemHttpResult TooLarge(UploadLimits limits) =>
        TypedResults.Problem(statusCode: 413, title: "Upload too large",
            detail: $"The upload is larger than {limits.MaxUploadBytes:N0} bytes, the most one upload may take. Nothing was kept. " +
                    "Compress it with gzip, or split the rows over several tasks.",
            extensions: new Dictionary<string, object?> { ["max_upload_bytes"] = limits.MaxUploadBytes });

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

    private sealed record UploadedFile(Stream Body, string? FileName, string? ContentType, bool GzipDeclared);

    /// <summary>
    /// The uploaded file: the multipart part 'file' (or the first part with a file name), or the raw body. A gzip
    /// Content-Encoding on a raw body is the file's own compression, kept as sent; on a multipart body it wraps
    /// the whole form, so it is undone before the parts are read.
    /// </summary>
    private static async Task<UploadedFile?> OpenFileAsync(HttpRequest request, bool gzipEncoded, CancellationToken ct)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return new UploadedFile(request.Body, null, request.ContentType, gzipEncoded);
        }
        var boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary).Value;
        if (string.IsNullOrEmpty(boundary))
        {
            return null;
        }
        var body = gzipEncoded ? new GZipStream(request.Body, CompressionMode.Decompress) : request.Body;
        var reader = new MultipartReader(boundary, body);
        while (await reader.ReadNextSectionAsync(ct) is { } section)
        {
            if (ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                && (disposition.Name.Value == "file" || disposition.FileName.HasValue || disposition.FileNameStar.HasValue))
            {
                return new UploadedFile(section.Body, disposition.FileNameStar.Value ?? disposition.FileName.Value, section.ContentType, false);
            }
        }
        return null;
    }

    /// <summary>Reads until the buffer is full, the body ends, or <paramref name="atMost"/> bytes were read.</summary>
    private static async Task<int> FillAsync(Stream body, byte[] buffer, long atMost, CancellationToken ct)
    {
        var want = (int)Math.Min(buffer.Length, atMost);
        var filled = 0;
        while (filled < want)
        {
            var n = await body.ReadAsync(buffer.AsMemory(filled, want - filled), ct);
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
