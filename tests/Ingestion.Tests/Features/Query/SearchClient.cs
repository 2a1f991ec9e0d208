using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Query;

/// <summary>The search API in the product's words, for the query tests.</summary>
public static class SearchClient
{
    public static Task<HttpResponseMessage> SearchAsync(this ApiClient api, Guid datasetId, object body) =>
        api.Http.PostAsJsonAsync($"/api/v1/datasets/{datasetId}/media/search", body, ApiClient.Json);

    /// <summary>Every matching media id, following next_cursor page by page.</summary>
    public static async Task<List<Guid>> AllMatchesAsync(this ApiClient api, Guid datasetId, string? query = null, JsonNode? filter = null, int limit = 1000)
    {
        var ids = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await ApiClient.ReadAsync<JsonObject>(
                await api.SearchAsync(datasetId, new { query, filter, limit, cursor, include_metadata = false }), HttpStatusCode.OK);
            ids.AddRange(page["media_items"]!.AsArray().Select(i => i!["media_id"]!.GetValue<Guid>()));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        return ids;
    }

    /// <summary>A failed search's problem details, checked to be a 400.</summary>
    public static async Task<JsonObject> RefusedAsync(this ApiClient api, Guid datasetId, object body) =>
        await ApiClient.ReadAsync<JsonObject>(await api.SearchAsync(datasetId, body), HttpStatusCode.BadRequest);
}
