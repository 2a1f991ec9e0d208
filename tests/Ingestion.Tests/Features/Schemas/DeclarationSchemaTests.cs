using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Ingestion.Api.Features.Schemas;
using Ingestion.Tests.Harness;
using Newtonsoft.Json.Linq;

namespace Ingestion.Tests.Features.Schemas;

[Collection(SharedAppCollection.Name)]
public sealed class DeclarationSchemaTests(SharedApp shared)
{
    private static string Options(int count) => "[" + string.Join(", ", Enumerable.Range(0, count).Select(i => $"\"o{i}\"")) + "]";

    public static TheoryData<string, bool> Bodies => new()
    {
        { """{"field_name": "temperature", "field_type": "float"}""", true },
        { """{"field_name": "temperature", "field_type": "float", "enum_options": null, "is_multi": null}""", true },
        { """{"field_name": "temperature", "field_type": "float", "enum_options": [], "is_multi": false}""", true },
        { """{"field_name": "temperature", "field_type": "float", "enum_options": ["a"]}""", false },
        { """{"field_name": "temperature", "field_type": "link", "is_multi": true}""", false },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": ["Sunny", "sunny"], "is_multi": true}""", true },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": ["Sunny", "Sunny"]}""", false },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": []}""", false },
        { """{"field_name": "lighting", "field_type": "enum"}""", false },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": null}""", false },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": ["exactly twenty chars"]}""", true },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": ["2024-02-24", "2024-02-24T10:00:00Z"]}""", true },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": ["twenty-one characters"]}""", false },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": ["a\u0000b"]}""", false },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": [1, "a"]}""", false },
        { $$"""{"field_name": "lighting", "field_type": "enum", "enum_options": {{Options(1000)}}}""", true },
        { $$"""{"field_name": "lighting", "field_type": "enum", "enum_options": {{Options(1001)}}}""", false },
        { """{"field_name": "lighting", "field_type": "enum", "enum_options": ["a"], "is_multi": "yes"}""", false },
        { """{"field_name": "a.b_9", "field_type": "string", "extra": {"ignored": true}}""", true },
        { """{"field_name": ".hidden", "field_type": "string"}""", false },
        { """{"field_name": "has space", "field_type": "string"}""", false },
        { """{"field_name": "trailing_newline\n", "field_type": "string"}""", false },
        { """{"field_name": "", "field_type": "string"}""", false },
        { $$"""{"field_name": "{{new string('n', 64)}}", "field_type": "string"}""", true },
        { $$"""{"field_name": "{{new string('n', 65)}}", "field_type": "string"}""", false },
        { """{"field_name": 7, "field_type": "string"}""", false },
        { """{"field_type": "string"}""", false },
        { """{"field_name": "f", "field_type": "number"}""", false },
        { """{"field_name": "f", "field_type": "Float"}""", false },
        { """{"field_name": "f"}""", false },
        { """[{"field_name": "f", "field_type": "string"}]""", false },
        { "\"just a string\"", false },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task The_declaration_schema_and_the_endpoint_accept_the_same_bodies(string body, bool valid)
    {
        var catalog = await SchemaCatalog.LoadAsync();
        var schemaAccepts = catalog.FieldDeclaration.Validate(JToken.Parse(body)).Count == 0;
        schemaAccepts.ShouldBe(valid, body);
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await PostAsync(api, dataset, body);

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(schemaAccepts ? HttpStatusCode.OK : HttpStatusCode.BadRequest, text);
    }

    [Fact]
    public async Task Each_problem_is_keyed_by_its_JSON_path_and_says_what_to_fix()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await PostAsync(api, dataset,
            """{"field_name": "ok", "field_type": "enum", "enum_options": ["red", "blue", "an option longer than twenty", "blue"]}""");

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        var errors = problem["errors"]!.AsObject();
        errors.Select(e => e.Key).ShouldBe(["enum_options[2]", "enum_options[3]"], ignoreOrder: true);
        errors["enum_options[2]"]![0]!.GetValue<string>().ShouldContain("1 to 20 characters");
        errors["enum_options[3]"]![0]!.GetValue<string>().ShouldContain("repeats enum_options[1]");
        problem["detail"]!.GetValue<string>().ShouldContain("enum_options[2]");
    }

    [Fact]
    public async Task Malformed_JSON_answers_400_with_line_and_position()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await PostAsync(api, dataset, "{\n  \"field_name\": \"f\",\n  \"field_type\": string\n}");

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["errors"]!["$"]![0]!.GetValue<string>().ShouldContain("line 3, position 17");
    }

    public static TheoryData<string> Unreadable =>
    [
        "",
        "{\"field_name\": 'f'}",
        "{\"field_name\": \"f\"",
        "{\"field_name\": " + new string('9', 400) + ", \"field_type\": \"string\"}",
    ];

    [Theory]
    [MemberData(nameof(Unreadable))]
    public async Task Bodies_that_are_not_JSON_answer_400_never_500(string body)
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await PostAsync(api, dataset, body);

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["errors"]!.AsObject().ContainsKey("$").ShouldBeTrue();
    }

    [Theory]
    // Past 64 bits and short of the hundreds of digits Newtonsoft refuses to read, a whole number was read as a
    // BigInteger, which the schema validator cannot compare: a 500, found by sending random bodies.
    [InlineData("{\"field_name\": 18446744073709551616, \"field_type\": \"string\"}", "field_name")]
    [InlineData("{\"field_name\": \"f\", \"field_type\": \"enum\", \"enum_options\": [\"a\", -9223372036854775809]}", "enum_options[1]")]
    [InlineData("9223372036854775808", "$")]
    public async Task A_whole_number_beyond_64_bits_answers_400_keyed_by_its_path_never_500(string body, string key)
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await PostAsync(api, dataset, body);

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["errors"]![key]![0]!.GetValue<string>().ShouldContain("too large");
        (await api.Http.PostAsync("/api/v1/datasets", new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode
            .ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Text_escaping_half_a_surrogate_pair_answers_400_keyed_by_its_path_never_500()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await PostAsync(api, dataset, """{"field_name": "f", "field_type": "enum", "enum_options": ["a", "b\ud800"]}""");

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["errors"]!["enum_options[1]"]![0]!.GetValue<string>().ShouldContain("surrogate pair");
    }

    [Fact]
    public async Task Only_the_snake_case_properties_the_schema_checked_are_bound()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await PostAsync(api, dataset, """{"field_name": "f", "field_type": "string", "FIELD_TYPE": "bogus", "Field_Name": 5}""");

        var body = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.OK);
        body["field_name"]!.GetValue<string>().ShouldBe("f");
        body["field_type"]!.GetValue<string>().ShouldBe("string");
    }

    [Theory]
    [InlineData("{\"name\": 5}")]
    [InlineData("{\"name\": \"   \"}")]
    [InlineData("{}")]
    public async Task An_invalid_dataset_name_answers_400_keyed_by_name(string body)
    {
        var api = await shared.App.NewWorkspaceClientAsync();

        var response = await api.Http.PostAsync("/api/v1/datasets", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["errors"]!.AsObject().ContainsKey("name").ShouldBeTrue(problem.ToJsonString());
    }

    private static Task<HttpResponseMessage> PostAsync(ApiClient api, Guid dataset, string body) =>
        api.Http.PostAsync($"/api/v1/datasets/{dataset}/custom_metadata/tasks", new StringContent(body, Encoding.UTF8, "application/json"));
}
