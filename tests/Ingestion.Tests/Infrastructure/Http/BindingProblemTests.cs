using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Infrastructure.Http;

/// <summary>
/// A body or parameter the framework cannot bind answers 400 saying what was wrong, where, and what it should be,
/// never a bare "Bad Request" and never a 500.
/// </summary>
[Collection(SharedAppCollection.Name)]
public sealed class BindingProblemTests(SharedApp shared)
{
    [Theory]
    [InlineData("""{"query": 5}""", "query (line 1, position 12) must be a string.")]
    [InlineData("""{"query": "x", "limit": "ten"}""", "limit (line 1, position 30) must be a whole number from -2,147,483,648 to 2,147,483,647.")]
    [InlineData("""{"query": "x", "include_total": 3}""", "include_total (line 1, position 34) must be true or false.")]
    [InlineData("""{"query": "x", "limit": 1.5}""", "limit (line 1, position 28) must be a whole number")]
    [InlineData("""{"query": "x", "limit": {"a": 1}}""", "limit (line 1, position 26) must be a number")]
    [InlineData("[1]", "The request body must be a JSON object.")]
    [InlineData("""{"query": "x" """, "The request body is not valid JSON at line 1, position 15")]
    [InlineData("", "The request body is empty.")]
    [InlineData("""{"query": "temperature = \"\ud800\""}""", "query (line 1, position 37) escapes half of a UTF-16 surrogate pair")]
    public async Task A_search_body_that_cannot_be_bound_answers_400_saying_what_and_where(string body, string detail)
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await api.Http.PostAsync($"/api/v1/datasets/{dataset}/media/search", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["detail"]!.GetValue<string>().ShouldStartWith(detail);
    }

    [Fact]
    public async Task A_query_parameter_of_the_wrong_type_answers_400_naming_it_and_what_it_takes()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await api.Http.GetAsync($"/api/v1/datasets/{dataset}/media?limit=ten");

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["detail"]!.GetValue<string>().ShouldBe("The query parameter limit is \"ten\"; it must be a whole number.");
    }

    [Fact]
    public async Task A_body_that_is_not_JSON_answers_415_saying_what_to_send()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await api.Http.PostAsync($"/api/v1/datasets/{dataset}/media/search", new StringContent("""{"query": "x"}""", Encoding.UTF8, "text/plain"));

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.UnsupportedMediaType);
        problem["detail"]!.GetValue<string>().ShouldContain("Content-Type: application/json");
    }
}
