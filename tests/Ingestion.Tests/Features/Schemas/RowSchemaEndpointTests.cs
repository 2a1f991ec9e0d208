using System.Net;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;
using NJsonSchema;

namespace Ingestion.Tests.Features.Schemas;

[Collection(SharedAppCollection.Name)]
public sealed class RowSchemaEndpointTests(SharedApp shared)
{
    private static string SchemaPath(Guid dataset, string field) => $"/api/v1/datasets/{dataset}/custom_metadata/fields/{field}/schema";

    [Fact]
    public async Task A_declared_enum_field_serves_its_row_schema_with_its_options_whatever_the_case_of_the_name()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        await api.DeclareFieldAsync(dataset, "Colors", "enum", ["red", "Blue", "dark green"], isMulti: true);

        var response = await api.Http.GetAsync(SchemaPath(dataset, "colors"));

        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/schema+json");
        var schema = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.OK);
        schema["$schema"]!.GetValue<string>().ShouldBe("http://json-schema.org/draft-07/schema#");
        var value = schema["properties"]!["value"]!;
        value["type"]!.GetValue<string>().ShouldBe("array");
        value["items"]!["enum"]!.AsArray().Select(o => o!.GetValue<string>()).ShouldBe(["red", "Blue", "dark green"]);
        schema.ContainsKey("definitions").ShouldBeFalse();
    }

    [Fact]
    public async Task The_served_schema_accepts_a_good_row_and_refuses_a_bad_one()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        await api.DeclareFieldAsync(dataset, "taken_at", "datetime");
        var schema = await JsonSchema.FromJsonAsync(await api.Http.GetStringAsync(SchemaPath(dataset, "taken_at")));

        schema.Validate($$"""{"media_id": "{{Guid.NewGuid()}}", "value": "2024-02-24T10:00:00+02:00"}""").ShouldBeEmpty();
        schema.Validate("""{"file_name": "a.jpg", "value": "2024-02-24T10:00:00"}""").ShouldNotBeEmpty();
    }

    [Fact]
    public async Task An_unknown_field_answers_404()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await api.Http.GetAsync(SchemaPath(dataset, "nothing_here"));

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await response.Content.ReadAsStringAsync()).ShouldContain("nothing_here");
    }

    [Fact]
    public async Task Another_workspaces_field_answers_404()
    {
        var owner = await shared.App.NewWorkspaceClientAsync();
        var dataset = await owner.CreateDatasetAsync();
        await owner.DeclareFieldAsync(dataset, "secret", "string");
        var stranger = await shared.App.NewWorkspaceClientAsync();

        var response = await stranger.Http.GetAsync(SchemaPath(dataset, "secret"));

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
