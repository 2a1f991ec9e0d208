using System.Net;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Fields;

[Collection(SharedAppCollection.Name)]
public sealed class DeclareFieldTests(SharedApp shared)
{
    [Fact]
    public async Task Declaring_a_field_answers_200_with_a_task_in_INIT()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await api.DeclareAsync(dataset, new { field_name = "temperature", field_type = "float" });

        var body = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.OK);
        body["status"]!.GetValue<string>().ShouldBe("INIT");
        body["task_id"]!.GetValue<Guid>().ShouldNotBe(Guid.Empty);
    }

    [Fact]
    public async Task Declaring_a_name_already_declared_in_any_case_answers_409_already_exists()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        await api.DeclareFieldAsync(dataset, "lighting", "enum", ["Sunny", "Cloudy"]);

        var response = await api.DeclareAsync(dataset, new { field_name = "Lighting", field_type = "string" });

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await response.Content.ReadAsStringAsync()).ShouldContain("already exists");
    }

    [Fact]
    public async Task An_invalid_declaration_answers_400_listing_every_problem()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await api.DeclareAsync(dataset, new
        {
            field_name = ".hidden name",
            field_type = "enum",
            enum_options = new[] { "red", "red", "an option longer than twenty", "" },
            is_multi = true,
        });

        var body = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        var errors = body["errors"]!.AsObject();
        errors.Select(e => e.Key).ShouldBe(["field_name", "enum_options[1]", "enum_options[2]", "enum_options[3]"], ignoreOrder: true);
    }

    [Theory]
    [InlineData("string", "[\"a\"]", null, "enum_options")]
    [InlineData("float", null, true, "is_multi")]
    [InlineData("enum", null, null, "enum_options")]
    [InlineData("number", null, null, "field_type")]
    public async Task Declarations_that_do_not_fit_their_type_are_refused(string type, string? options, bool? isMulti, string faultyProperty)
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await api.DeclareAsync(dataset, new
        {
            field_name = "f",
            field_type = type,
            enum_options = options is null ? null : System.Text.Json.JsonSerializer.Deserialize<string[]>(options),
            is_multi = isMulti,
        });

        var body = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        body["errors"]!.AsObject().ContainsKey(faultyProperty).ShouldBeTrue(body.ToJsonString());
    }

    [Fact]
    public async Task The_schema_lists_declared_fields_with_their_options_and_task()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var task = await api.DeclareFieldAsync(dataset, "colors", "enum", ["red", "blue"], isMulti: true);

        var schema = await ApiClient.ReadAsync<JsonObject>(await api.Http.GetAsync($"/api/v1/datasets/{dataset}/custom_metadata/schema"), HttpStatusCode.OK);

        var field = schema["fields"]!.AsArray().Single()!;
        field["field_name"]!.GetValue<string>().ShouldBe("colors");
        field["field_type"]!.GetValue<string>().ShouldBe("enum");
        field["is_multi"]!.GetValue<bool>().ShouldBeTrue();
        field["enum_options"]!.AsArray().Select(o => o!.GetValue<string>()).ShouldBe(["red", "blue"]);
        field["task_id"]!.GetValue<Guid>().ShouldBe(task);
    }
}
