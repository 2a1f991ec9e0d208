using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Query;

/// <summary>A query that does not fit the schema is refused before it runs, pointing at the spot and saying what would be valid.</summary>
[Collection(SharedAppCollection.Name)]
public sealed class QueryErrorTests(SharedApp shared)
{
    [Theory]
    [InlineData("temprature > 20", 0, 1, 1, "Field 'temprature' is not declared; did you mean 'temperature'?")]
    [InlineData("temperature > 20 AND\n  lighting = \"Sunnyy\"", 34, 2, 14, "\"Sunnyy\" is not an option of enum field 'lighting'; did you mean \"Sunny\"?")]
    [InlineData("temperature CONTAINS \"x\"", 12, 1, 13, "Operator CONTAINS does not apply to float field 'temperature'. Use one of =, !=, <, <=, >, >=, BETWEEN, EXISTS, MISSING.")]
    [InlineData("temperature > \"20\"", 14, 1, 15, "compares with numbers")]
    [InlineData("camera = 20", 9, 1, 10, "put 20 in double quotes")]
    [InlineData("reviewed_at > \"2024-01-01\"", 14, 1, 15, "RFC 3339")]
    [InlineData("reviewed_at < \"2024-01-01T00:00:00\"", 14, 1, 15, "with an offset")]
    [InlineData("colors HAS ANY (\"red\", \"purple\")", 23, 1, 24, "\"purple\" is not an option of enum field 'colors'")]
    [InlineData("colors = \"red\"", 7, 1, 8, "takes a list of options in parentheses")]
    [InlineData("lighting HAS ALL (\"Sunny\")", 9, 1, 10, "Use one of =, !=, IN, EXISTS, MISSING")]
    [InlineData("temperature CONTAIN 20", 12, 1, 13, "Did you mean CONTAINS?")]
    [InlineData("temperature >", 13, 1, 14, "Expected a value, found the end of the query")]
    [InlineData("(temperature > 20", 17, 1, 18, "Expected ')' to close the '('")]
    [InlineData("temperature > 20 lighting = \"Sunny\"", 17, 1, 18, "Expected AND, OR or the end of the query")]
    [InlineData("camera = 'rear'", 9, 1, 10, "double quotes")]
    [InlineData("camera = \"rear", 9, 1, 10, "no closing double quote")]
    [InlineData("temperature BETWEEN 1 OR 2", 22, 1, 23, "Expected AND after the lower bound of BETWEEN")]
    public async Task An_invalid_query_answers_400_with_its_position_and_what_would_be_valid(
        string query, int offset, int line, int column, string detail)
    {
        var catalog = await Catalog.GetAsync(shared);

        var problem = await catalog.Api.RefusedAsync(catalog.DatasetId, new { query });

        problem["detail"]!.GetValue<string>().ShouldContain(detail);
        problem["detail"]!.GetValue<string>().ShouldStartWith($"At offset {offset} (line {line}, column {column}):");
        problem["position"]!.GetValue<int>().ShouldBe(offset);
        problem["line"]!.GetValue<int>().ShouldBe(line);
        problem["column"]!.GetValue<int>().ShouldBe(column);
    }

    [Fact]
    public async Task An_invalid_JSON_tree_answers_400_with_the_path_of_the_faulty_node()
    {
        var catalog = await Catalog.GetAsync(shared);
        var filter = JsonNode.Parse("""{"or": [{"field": "camera", "op": "exists"}, {"field": "temprature", "op": ">", "value": 20}]}""");

        var problem = await catalog.Api.RefusedAsync(catalog.DatasetId, new { filter });

        problem["json_path"]!.GetValue<string>().ShouldBe("filter.or[1].field");
        problem["detail"]!.GetValue<string>().ShouldContain("did you mean 'temperature'?");
    }

    [Fact]
    public async Task Sending_both_query_and_filter_is_refused()
    {
        var catalog = await Catalog.GetAsync(shared);

        var problem = await catalog.Api.RefusedAsync(catalog.DatasetId,
            new { query = "camera EXISTS", filter = new { field = "camera", op = "exists" } });

        problem["detail"]!.GetValue<string>().ShouldContain("both \"query\" and \"filter\"");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public async Task A_limit_outside_1_to_1000_is_refused(int limit)
    {
        var catalog = await Catalog.GetAsync(shared);

        var problem = await catalog.Api.RefusedAsync(catalog.DatasetId, new { limit });

        problem["detail"]!.GetValue<string>().ShouldContain("1 to 1000");
    }

    [Fact]
    public async Task A_cursor_the_API_did_not_issue_is_refused()
    {
        var catalog = await Catalog.GetAsync(shared);

        var problem = await catalog.Api.RefusedAsync(catalog.DatasetId, new { cursor = "not-a-cursor" });

        problem["detail"]!.GetValue<string>().ShouldContain("next_cursor");
    }

    [Fact]
    public async Task The_GET_form_and_the_export_refuse_an_invalid_q_the_same_way()
    {
        var catalog = await Catalog.GetAsync(shared);
        var q = Uri.EscapeDataString("temprature > 20");

        var list = await ApiClient.ReadAsync<JsonObject>(
            await catalog.Api.Http.GetAsync($"/api/v1/datasets/{catalog.DatasetId}/media?q={q}"), System.Net.HttpStatusCode.BadRequest);
        var export = await ApiClient.ReadAsync<JsonObject>(
            await catalog.Api.Http.GetAsync($"/api/v1/datasets/{catalog.DatasetId}/export?q={q}"), System.Net.HttpStatusCode.BadRequest);

        list["detail"]!.GetValue<string>().ShouldContain("did you mean 'temperature'?");
        export["detail"]!.GetValue<string>().ShouldBe(list["detail"]!.GetValue<string>());
    }
}
