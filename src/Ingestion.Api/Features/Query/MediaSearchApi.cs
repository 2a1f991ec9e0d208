using System.Buffers.Text;
using System.Text.Json;
using Ingestion.Api.Features.Datasets;
using Ingestion.Api.Infrastructure.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Ingestion.Api.Features.Query;

public sealed record SearchRequest(string? Query, JsonElement? Filter, int? Limit, string? Cursor, bool? IncludeMetadata, bool? IncludeTotal);

public sealed record SearchMediaItem(Guid MediaId, string MediaType, string FileName, string? FilePath, JsonElement? MetadataItems);

public sealed record SearchResponse(IReadOnlyList<SearchMediaItem> MediaItems, string? NextCursor, long? Total);

/// <summary>
/// Filter a dataset's media by its declared fields. Pages come in media_id order; the cursor is the last
/// media_id of the page (keyset paging, never OFFSET), so a page costs the same wherever it is, and values
/// ingested meanwhile for other fields cannot shift items between pages.
/// </summary>
public static class MediaSearchApi
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapMediaSearchApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/datasets/{dataset_id:guid}").WithTags("Search");
        group.MapPost("/media/search", PostAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("Media items matching a filter (query text or JSON tree), a page at a time in media_id order");
        group.MapGet("/media", GetAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("Media items matching the query text in q, a page at a time in media_id order");
        return app;
    }

    private static Task<Results<Ok<SearchResponse>, ProblemHttpResult>> PostAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, SearchRequest request, HttpContext http, NpgsqlDataSource db, CancellationToken ct) =>
        SearchAsync(datasetId, request, http, db, ct);

    private static Task<Results<Ok<SearchResponse>, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromQuery(Name = "q")] string? q, [FromQuery(Name = "limit")] int? limit,
        [FromQuery(Name = "cursor")] string? cursor, [FromQuery(Name = "include_metadata")] bool? includeMetadata,
        [FromQuery(Name = "include_total")] bool? includeTotal, HttpContext http, NpgsqlDataSource db, CancellationToken ct) =>
        SearchAsync(datasetId, new SearchRequest(q, null, limit, cursor, includeMetadata, includeTotal), http, db, ct);

    private static async Task<Results<Ok<SearchResponse>, ProblemHttpResult>> SearchAsync(
        Guid datasetId, SearchRequest request, HttpContext http, NpgsqlDataSource db, CancellationToken ct)
    {
        var limit = request.Limit ?? DefaultLimit;
        if (limit is < 1 or > MaxLimit)
        {
            return TypedResults.Problem(statusCode: 400, title: "The limit is invalid",
                detail: $"limit is {limit}; it must be 1 to {MaxLimit}. Fetch more with the next_cursor of each page.");
        }
        Guid? after = null;
        if (request.Cursor is not null)
        {
            after = DecodeCursor(request.Cursor);
            if (after is null)
            {
                return TypedResults.Problem(statusCode: 400, title: "The cursor is invalid",
                    detail: "cursor is not one this API issued. Pass the next_cursor of the previous page unchanged, or leave cursor out for the first page.");
            }
        }

        await using var conn = await db.OpenConnectionAsync(ct);
        var dataset = await MediaFilter.LoadDatasetAsync(conn, http.User.WorkspaceId(), datasetId, ct);
        if (dataset is null)
        {
            return DatasetsApi.NotFound(datasetId);
        }
        if (!MediaFilter.TryPlan(request.Query, request.Filter, dataset, out var plan, out var problem))
        {
            return problem!;
        }

        var workspaceId = http.User.WorkspaceId();
        long? total = null;
        if (request.IncludeTotal == true)
        {
            var countParameters = new List<NpgsqlParameter>();
            await using var count = MediaFilter.CountCommand(conn, MediaFilter.Where(workspaceId, datasetId, plan, countParameters), countParameters);
            total = (long)(await count.ExecuteScalarAsync(ct))!;
        }
        var perItem = await MediaFilter.PageWalksAsync(conn, workspaceId, datasetId, plan, after, limit + 1, ct);
        var parameters = new List<NpgsqlParameter>();
        var where = MediaFilter.Where(workspaceId, datasetId, plan, parameters, perItem);
        // One row past the page says whether there is a next one.
        await using var cmd = MediaFilter.PageCommand(conn, where, parameters, after, limit + 1,
            request.IncludeMetadata ?? true ? dataset : null);
        var items = new List<SearchMediaItem>(Math.Min(limit, 128));
        string? next = null;
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            if (items.Count == limit)
            {
                next = EncodeCursor(items[^1].MediaId);
                break;
            }
            JsonElement? metadata = null;
            if (!r.IsDBNull(4))
            {
                using var doc = JsonDocument.Parse(r.GetString(4));
                metadata = doc.RootElement.Clone();
            }
            items.Add(new SearchMediaItem(r.GetGuid(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), metadata));
        }
        return TypedResults.Ok(new SearchResponse(items, next, total));
    }

    /// <summary>The cursor is the page's last media_id, base64url: opaque to clients, stable across requests.</summary>
    private static string EncodeCursor(Guid lastMediaId) => Base64Url.EncodeToString(lastMediaId.ToByteArray(bigEndian: true));

    private static Guid? DecodeCursor(string cursor)
    {
        Span<byte> bytes = stackalloc byte[18];
        return Base64Url.IsValid(cursor) && Base64Url.TryDecodeFromChars(cursor, bytes, out var n) && n == 16
            ? new Guid(bytes[..16], bigEndian: true)
            : null;
    }
}
