using System.Text.Json;
using Ingestion.Api.Infrastructure.Auth;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Api.Infrastructure.Streaming;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using NpgsqlTypes;

namespace Ingestion.Api.Features.Datasets;

public sealed record MediaItemError(long Index, string Reason);

public sealed record RegisteredMediaItem(Guid MediaId, string FileName);

public sealed record RegisterMediaResponse(
    long Registered,
    long AlreadyRegistered,
    long ErrorCount,
    IReadOnlyList<MediaItemError> Errors,
    IReadOnlyList<RegisteredMediaItem> MediaItems,
    bool MediaItemsTruncated);

/// <summary>
/// Registers media items from a JSON array or NDJSON body of any size: parsed as a stream, copied in
/// batches. All or nothing: a body that breaks half-way registers nothing (re-sending is safe, because
/// names already registered are skipped). Items with a problem are skipped and reported.
/// </summary>
public static class MediaRegistration
{
    public const int BatchSize = 10_000;
    public const int MaxListedItems = 1_000;
    public const int MaxListedErrors = 100;
    private static readonly HashSet<string> MediaTypes = ["image", "video"];

    private sealed class Item
    {
        public string? FileName;
        public string? FilePath;
        public string? MediaType;
        public string? Problem;
    }

    public static async Task<Results<Ok<RegisterMediaResponse>, ProblemHttpResult>> RegisterAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, HttpContext http, NpgsqlDataSource db, ILoggerFactory loggers, CancellationToken ct)
    {
        var workspaceId = http.User.WorkspaceId();
        if (!await DatasetsApi.ExistsAsync(db, workspaceId, datasetId, ct))
        {
            return DatasetsApi.NotFound(datasetId);
        }

        var body = new PeekableStream(http.Request.Body);
        var first = await body.PeekFirstNonWhitespaceAsync(ct);
        if (first is null)
        {
            return TypedResults.Problem(statusCode: 400, title: "Empty body",
                detail: "Send a JSON array (or NDJSON) of {\"file_name\": \"...\", \"file_path\": \"...\", \"media_type\": \"image\"}.");
        }
        var elements = new JsonElementStream(body, first == (byte)'[' ? JsonStreamShape.Array : JsonStreamShape.Sequence);

        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var create = new NpgsqlCommand("""
            CREATE TEMP TABLE media_staging (media_id uuid, file_name text, file_path text, media_type text) ON COMMIT DROP
            """, conn))
        {
            await create.ExecuteNonQueryAsync(ct);
        }

        var item = new Item();
        JsonElementHandler handler = (ref Utf8JsonReader r, ReadOnlySpan<byte> _) =>
        {
            item.FileName = item.FilePath = item.MediaType = item.Problem = null;
            ParseItem(ref r, item);
        };
        var batch = new List<(Guid Id, string Name, string? Path, string Type)>(BatchSize);
        var errors = new List<MediaItemError>();
        var listed = new List<RegisteredMediaItem>();
        long registered = 0, existing = 0, errorCount = 0;
        try
        {
            while (true)
            {
                var index = elements.ElementIndex;
                if (!await elements.ReadNextAsync(handler, ct))
                {
                    break;
                }
                var problem = item.Problem ?? Check(item);
                if (problem is not null)
                {
                    errorCount++;
                    if (errors.Count < MaxListedErrors)
                    {
                        errors.Add(new MediaItemError(index, problem));
                    }
                    continue;
                }
                batch.Add((Guid.CreateVersion7(), item.FileName!, item.FilePath, item.MediaType ?? "image"));
                if (batch.Count == BatchSize)
                {
                    var (n, dup) = await FlushAsync(conn, workspaceId, datasetId, batch, listed, ct);
                    registered += n;
                    existing += dup;
                }
            }
        }
        catch (MalformedFileException e)
        {
            return TypedResults.Problem(statusCode: 400, title: "Malformed body",
                detail: $"{e.Message} Nothing was registered.",
                extensions: new Dictionary<string, object?> { ["line"] = e.Line, ["column"] = e.Column, ["error_code"] = e.Code });
        }
        var (last, lastDup) = await FlushAsync(conn, workspaceId, datasetId, batch, listed, ct);
        registered += last;
        existing += lastDup;
        await tx.CommitAsync(ct);
        await MergeItemCountsAsync(conn, datasetId, loggers, ct);
        await AnalyzeIfGrownAsync(conn, registered, loggers, ct);
        return TypedResults.Ok(new RegisterMediaResponse(registered, existing, errorCount, errors, listed, registered > listed.Count));
    }

    /// <summary>
    /// Each batch left the dataset's item count a row of its own (migration 0010); once they pile up they are merged
    /// into one, so reading the count stays a sum of a few rows. The items are committed by now: a merge that fails
    /// leaves the count right, only longer to read, and the next registration merges again, so it fails nothing.
    /// </summary>
    private static async Task MergeItemCountsAsync(NpgsqlConnection conn, Guid datasetId, ILoggerFactory loggers, CancellationToken ct)
    {
        try
        {
            await conn.ExecuteAsync("""
                SELECT merge_dataset_item_counts($1) WHERE (SELECT count(*) FROM dataset_item_counts WHERE dataset_id = $1) > 32
                """, ct, datasetId);
        }
        catch (NpgsqlException e)
        {
            loggers.CreateLogger(typeof(MediaRegistration)).LogWarning(e, "Merging the item count rows of dataset {DatasetId} failed", datasetId);
        }
    }

    /// <summary>
    /// Registrations of at least this many items refresh the planner's statistics on media_items when they add a
    /// twentieth or more of the rows PostgreSQL last counted there.
    /// </summary>
    public const int AnalyzeAfterItems = 10_000;

    /// <summary>
    /// A dataset registered after media_items was last analyzed is, to the planner, one item: statistics from before it
    /// existed do not know it, and autovacuum refreshes them only after a tenth of the table changed. Searches then
    /// visit every item of the dataset to probe each for a value (0.14 s instead of 14 ms for `t &gt; 99.9` over
    /// 400,000 items, docs/benchmarks.md, 5 Dec, 11:05–12:05). A registration big enough to mislead them refreshes them
    /// before it answers: a sample of 30,000 rows however large the table (45 ms at 400,000 items). The items are
    /// committed by now, so a refresh that fails is logged and leaves the statistics to autovacuum.
    /// </summary>
    private static async Task AnalyzeIfGrownAsync(NpgsqlConnection conn, long registered, ILoggerFactory loggers, CancellationToken ct)
    {
        if (registered < AnalyzeAfterItems)
        {
            return;
        }
        try
        {
            if (await conn.StatisticsDueAsync("media_items", registered, 20, ct))
            {
                await conn.ExecuteUntimedAsync("ANALYZE media_items", ct);
            }
        }
        catch (NpgsqlException e)
        {
            loggers.CreateLogger(typeof(MediaRegistration)).LogWarning(e, "Refreshing the statistics of media_items after {Registered} items failed", registered);
        }
    }

    private static string? Check(Item item)
    {
        if (string.IsNullOrWhiteSpace(item.FileName))
        {
            return "file_name is required: the item's file name, unique within the dataset.";
        }
        if (item.FileName.Length > 1024 || item.FileName.Contains('\0'))
        {
            return "file_name must be at most 1,024 characters with no NUL.";
        }
        if (item.FilePath is { Length: > 4096 } || item.FilePath?.Contains('\0') == true)
        {
            return "file_path must be at most 4,096 characters with no NUL.";
        }
        if (item.MediaType is not null && !MediaTypes.Contains(item.MediaType))
        {
            return $"media_type must be \"image\" or \"video\", not \"{item.MediaType}\".";
        }
        return null;
    }

    private static void ParseItem(ref Utf8JsonReader r, Item item)
    {
        if (r.TokenType != JsonTokenType.StartObject)
        {
            item.Problem = "Each item must be an object like {\"file_name\": \"a.jpg\"}.";
            return;
        }
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var isName = r.ValueTextEquals("file_name"u8);
            var isPath = r.ValueTextEquals("file_path"u8);
            var isType = r.ValueTextEquals("media_type"u8);
            r.Read();
            if (!(isName || isPath || isType))
            {
                r.TrySkip();
                continue;
            }
            if (r.TokenType == JsonTokenType.Null)
            {
                continue;
            }
            if (r.TokenType != JsonTokenType.String)
            {
                item.Problem = $"{(isName ? "file_name" : isPath ? "file_path" : "media_type")} must be a string.";
                r.TrySkip();
                continue;
            }
            if (!JsonText.TryGetString(ref r, out var s))
            {
                item.Problem = $"{(isName ? "file_name" : isPath ? "file_path" : "media_type")} {JsonText.UnpairedSurrogate}";
                continue;
            }
            if (isName) item.FileName = s;
            else if (isPath) item.FilePath = s;
            else item.MediaType = s;
        }
    }

    private static async Task<(long Registered, long Existing)> FlushAsync(NpgsqlConnection conn, Guid workspaceId, Guid datasetId,
        List<(Guid Id, string Name, string? Path, string Type)> batch, List<RegisteredMediaItem> listed, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return (0, 0);
        }
        await using (var w = await conn.BeginBinaryImportAsync(
            "COPY media_staging (media_id, file_name, file_path, media_type) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var (id, name, path, type) in batch)
            {
                w.StartRow();
                w.Write(id, NpgsqlDbType.Uuid);
                w.Write(name, NpgsqlDbType.Text);
                if (path is null) w.WriteNull(); else w.Write(path, NpgsqlDbType.Text);
                w.Write(type, NpgsqlDbType.Text);
            }
            await w.CompleteAsync(ct);
        }
        // Only the count and the first few ids travel back: returning every inserted row would ship the
        // whole registration back to us.
        long registered;
        await using (var insert = new NpgsqlCommand("""
            WITH inserted AS (
                INSERT INTO media_items (media_id, workspace_id, dataset_id, file_name, file_path, media_type)
                SELECT media_id, $1, $2, file_name, file_path, media_type FROM media_staging
                ON CONFLICT (dataset_id, file_name) DO NOTHING
                RETURNING media_id, file_name
            )
            SELECT (SELECT count(*) FROM inserted), l.media_id, l.file_name
            FROM (SELECT 1) one
            LEFT JOIN LATERAL (SELECT media_id, file_name FROM inserted LIMIT $3) l ON true
            """, conn) { Parameters = { new() { Value = workspaceId }, new() { Value = datasetId }, new() { Value = MaxListedItems - listed.Count } } })
        await using (var r = await insert.ExecuteReaderAsync(ct))
        {
            registered = 0;
            while (await r.ReadAsync(ct))
            {
                registered = r.GetInt64(0);
                if (!r.IsDBNull(1))
                {
                    listed.Add(new RegisteredMediaItem(r.GetGuid(1), r.GetString(2)));
                }
            }
        }
        await using (var truncate = new NpgsqlCommand("TRUNCATE media_staging", conn))
        {
            await truncate.ExecuteNonQueryAsync(ct);
        }
        var count = batch.Count;
        batch.Clear();
        return (registered, count - registered);
    }
}
