using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Query;

/// <summary>Every operator on every type, the missing-value rule and precedence, against <see cref="Catalog"/>.</summary>
[Collection(SharedAppCollection.Name)]
public sealed class QueryOperatorTests(SharedApp shared)
{
    [Theory]
    // float
    [InlineData("temperature = 20", "img2")]
    [InlineData("temperature != 20", "img0 img1 img3 img5")]
    [InlineData("temperature < 20", "img1 img3")]
    [InlineData("temperature <= 20", "img1 img2 img3")]
    [InlineData("temperature > 20", "img0 img5")]
    [InlineData("temperature >= 20", "img0 img2 img5")]
    [InlineData("temperature BETWEEN 15 AND 20.5", "img1 img2 img5")]
    [InlineData("temperature > -1e1", "img0 img1 img2 img3 img5")]
    [InlineData("temperature EXISTS", "img0 img1 img2 img3 img5")]
    [InlineData("temperature MISSING", "img4")]
    // datetime: compared as UTC instants whatever offset the literal is written in
    [InlineData("reviewed_at = \"2024-01-10T02:00:00+02:00\"", "img0")]
    [InlineData("reviewed_at != \"2024-01-10T00:00:00Z\"", "img1 img2 img3")]
    [InlineData("reviewed_at < \"2024-01-01T00:00:00Z\"", "img2 img3")]
    [InlineData("reviewed_at <= \"2023-12-31T22:00:00Z\"", "img3")]
    [InlineData("reviewed_at > \"2024-01-10T00:00:00Z\"", "img1")]
    [InlineData("reviewed_at >= \"2024-01-10T00:00:00.000Z\"", "img0 img1")]
    [InlineData("reviewed_at BETWEEN \"2023-12-31T23:00:00Z\" AND \"2024-02-01T00:00:00Z\"", "img0 img1 img2")]
    [InlineData("reviewed_at MISSING", "img4 img5")]
    // string
    [InlineData("camera = \"rear\"", "img1")]
    [InlineData("camera != \"rear\"", "img0 img2 img3 img5")]
    [InlineData("camera CONTAINS \"FRONT\"", "img0 img2")]
    [InlineData("camera CONTAINS \"0%_\"", "img3")]
    [InlineData("camera CONTAINS \"%\"", "img3")]
    [InlineData("camera STARTS WITH \"front\"", "img2")]
    [InlineData("camera IN (\"rear\", \"REAR\")", "img1 img5")]
    [InlineData("camera = \"side 100\\u0025_x\"", "img3")]
    [InlineData("camera EXISTS", "img0 img1 img2 img3 img5")]
    // link
    [InlineData("url STARTS WITH \"https://cdn.\"", "img0 img2")]
    [InlineData("url = \"http://origin.example.com/1.jpg\"", "img1")]
    [InlineData("url != \"http://origin.example.com/1.jpg\"", "img0 img2")]
    [InlineData("url CONTAINS \"ORIGIN\"", "img1")]
    [InlineData("url IN (\"https://cdn.example.com/2.jpg\")", "img2")]
    [InlineData("url MISSING", "img3 img4 img5")]
    // single enum
    [InlineData("lighting = \"Sunny\"", "img0 img3")]
    [InlineData("lighting != \"Sunny\"", "img1 img2")]
    [InlineData("lighting IN (\"Cloudy\", \"Night\")", "img1 img2")]
    [InlineData("lighting EXISTS", "img0 img1 img2 img3")]
    [InlineData("lighting MISSING", "img4 img5")]
    // multi enum
    [InlineData("colors HAS ANY (\"green\")", "img2 img3")]
    [InlineData("colors HAS ANY (\"green\", \"red\")", "img0 img2 img3 img5")]
    [InlineData("colors HAS ALL (\"red\", \"blue\")", "img0 img2 img5")]
    [InlineData("colors = (\"blue\", \"red\")", "img0 img5")]
    [InlineData("colors = (\"blue\")", "img1")]
    [InlineData("colors EXISTS", "img0 img1 img2 img3 img5")]
    [InlineData("colors MISSING", "img4")]
    // keywords and field names in any case
    [InlineData("TEMPERATURE > 20 and Lighting = \"Sunny\"", "img0")]
    [InlineData("camera starts with \"front\" or COLORS has all (\"green\")", "img2 img3")]
    public async Task Each_operator_selects_the_items_whose_value_satisfies_it(string query, string expected) =>
        await ShouldMatchAsync(query, expected);

    [Theory]
    [InlineData("NOT temperature > 20", "img1 img2 img3 img4")]
    [InlineData("NOT lighting != \"Sunny\"", "img0 img3 img4 img5")]
    [InlineData("NOT colors HAS ANY (\"red\")", "img1 img3 img4")]
    [InlineData("NOT url MISSING", "img0 img1 img2")]
    [InlineData("NOT NOT temperature > 20", "img0 img5")]
    public async Task A_predicate_on_a_missing_value_is_false_and_its_negation_true(string query, string expected) =>
        await ShouldMatchAsync(query, expected);

    [Theory]
    [InlineData("lighting = \"Sunny\" OR lighting = \"Cloudy\" AND temperature > 20", "img0 img3")]
    [InlineData("(lighting = \"Sunny\" OR lighting = \"Cloudy\") AND temperature > 20", "img0")]
    [InlineData("NOT lighting = \"Sunny\" AND temperature EXISTS", "img1 img2 img5")]
    [InlineData("NOT (lighting = \"Sunny\" AND temperature EXISTS)", "img1 img2 img4 img5")]
    [InlineData("temperature < 0 OR temperature > 24 AND camera CONTAINS \"left\" OR colors = (\"blue\")", "img0 img1 img3")]
    [InlineData("(camera CONTAINS \"front\" OR camera = \"rear\") AND NOT reviewed_at BETWEEN \"2024-01-01T00:00:00Z\" AND \"2024-02-01T00:00:00Z\"", "img2")]
    [InlineData("colors HAS ANY (\"red\", \"blue\") AND url STARTS WITH \"https://cdn.\" AND temperature EXISTS", "img0 img2")]
    [InlineData("temperature > 20\n  AND\n  (lighting MISSING)", "img5")]
    public async Task NOT_binds_tighter_than_AND_and_AND_tighter_than_OR(string query, string expected) =>
        await ShouldMatchAsync(query, expected);

    [Fact]
    public async Task The_same_filter_as_a_JSON_tree_selects_the_same_items_as_the_text()
    {
        var catalog = await Catalog.GetAsync(shared);
        const string text = "(camera CONTAINS \"front\" OR camera = \"rear\") AND NOT reviewed_at BETWEEN \"2024-01-01T00:00:00Z\" AND \"2024-02-01T00:00:00Z\" AND colors HAS ANY (\"red\")";
        var tree = System.Text.Json.Nodes.JsonNode.Parse("""
            {"and": [
                {"or": [{"field": "camera", "op": "contains", "value": "front"}, {"field": "camera", "op": "=", "value": "rear"}]},
                {"not": {"field": "reviewed_at", "op": "between", "value": ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"]}},
                {"field": "colors", "op": "HAS ANY", "value": ["red"]}
            ]}
            """);

        var byText = await catalog.Api.AllMatchesAsync(catalog.DatasetId, query: text);
        var byTree = await catalog.Api.AllMatchesAsync(catalog.DatasetId, filter: tree);

        byTree.ShouldBe(byText);
        Names(catalog, byText).ShouldBe("img2");
    }

    [Fact]
    public async Task No_query_lists_every_item_in_media_id_order()
    {
        var catalog = await Catalog.GetAsync(shared);

        var all = await catalog.Api.AllMatchesAsync(catalog.DatasetId);

        all.ShouldBe(catalog.Ids.Order().ToList());
    }

    [Fact]
    public async Task A_blank_q_lists_every_item_like_no_q()
    {
        var catalog = await Catalog.GetAsync(shared);

        var page = await ApiClient.ReadAsync<System.Text.Json.Nodes.JsonObject>(
            await catalog.Api.Http.GetAsync($"/api/v1/datasets/{catalog.DatasetId}/media?q=%20&include_metadata=false"), System.Net.HttpStatusCode.OK);

        page["media_items"]!.AsArray().Select(i => i!["media_id"]!.GetValue<Guid>()).ShouldBe(catalog.Ids.Order());
    }

    private async Task ShouldMatchAsync(string query, string expected)
    {
        var catalog = await Catalog.GetAsync(shared);

        var ids = await catalog.Api.AllMatchesAsync(catalog.DatasetId, query);

        Names(catalog, ids).ShouldBe(expected, $"query: {query}");
    }

    private static string Names(Catalog catalog, IEnumerable<Guid> ids) =>
        string.Join(' ', ids.Select(catalog.NameOf).Order(StringComparer.Ordinal));
}
