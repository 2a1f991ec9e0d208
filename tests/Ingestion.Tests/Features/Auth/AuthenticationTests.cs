using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Auth;

[Collection(SharedAppCollection.Name)]
public sealed class AuthenticationTests(SharedApp shared)
{
    [Theory]
    [InlineData("GET", "/api/v1/datasets")]
    [InlineData("POST", "/api/v1/datasets")]
    [InlineData("GET", "/api/v1/datasets/0190a6c8-6e1f-7cc1-9a1e-1b2f3c4d5e6f/custom_metadata/schema")]
    [InlineData("POST", "/api/v1/datasets/0190a6c8-6e1f-7cc1-9a1e-1b2f3c4d5e6f/custom_metadata/tasks")]
    [InlineData("GET", "/api/v1/datasets/0190a6c8-6e1f-7cc1-9a1e-1b2f3c4d5e6f/export")]
    public async Task A_request_without_a_token_answers_401(string method, string path)
    {
        var http = shared.App.CreateClient();

        var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ShouldNotBeEmpty();
    }

    [Fact]
    public async Task An_unknown_token_answers_401()
    {
        var http = shared.App.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "ing_not-a-real-token");

        (await http.GetAsync("/api/v1/datasets")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_token_is_also_accepted_as_the_basic_auth_password()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync("via-bearer");
        var token = api.Http.DefaultRequestHeaders.Authorization!.Parameter!;
        var http = shared.App.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"anyone:{token}")));

        var response = await http.GetAsync($"/api/v1/datasets/{dataset}");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Health_endpoints_need_no_token()
    {
        var http = shared.App.CreateClient();

        (await http.GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var ready = await ApiClient.ReadAsync<JsonObject>(await http.GetAsync("/health/ready"), HttpStatusCode.OK);
        ready["checks"]!["database"]!.GetValue<string>().ShouldBe("ok");
        ready["checks"]!["job_scheduler"]!.GetValue<string>().ShouldBe("ok");
    }

    [Fact]
    public async Task A_read_only_token_can_read_but_not_write()
    {
        var admin = await shared.App.NewWorkspaceClientAsync();
        var dataset = await admin.CreateDatasetAsync();
        var created = await ApiClient.ReadAsync<JsonObject>(
            await admin.Http.PostAsJsonAsync("/api/v1/tokens", new { name = "reader", scopes = new[] { "metadata:read" } }), HttpStatusCode.Created);
        var reader = ApiClient.For(shared.App.CreateClient(), created["token"]!.GetValue<string>());

        (await reader.Http.GetAsync($"/api/v1/datasets/{dataset}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await reader.DeclareAsync(dataset, new { field_name = "x", field_type = "string" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await reader.Http.PostAsJsonAsync("/api/v1/tokens", new { scopes = new[] { "admin" } })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Another_workspace_sees_none_of_a_workspaces_data_and_gets_404_for_its_ids()
    {
        var owner = await shared.App.NewWorkspaceClientAsync();
        var stranger = await shared.App.NewWorkspaceClientAsync();
        var dataset = await owner.CreateDatasetAsync("private");
        var media = await owner.RegisterMediaAsync(dataset, ["secret.jpg"]);
        var (taskId, _) = await owner.IngestAsync(dataset, "label", "string", [new { media_id = media[0], value = "confidential" }]);

        string[] paths =
        [
            $"/api/v1/datasets/{dataset}",
            $"/api/v1/datasets/{dataset}/export",
            $"/api/v1/datasets/{dataset}/custom_metadata/schema",
            $"/api/v1/datasets/{dataset}/custom_metadata/tasks/{taskId}/status",
            $"/api/v1/datasets/{dataset}/image/{media[0]}/custom_metadata",
        ];
        foreach (var path in paths)
        {
            (await stranger.Http.GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.NotFound, path);
        }
        (await stranger.DeclareAsync(dataset, new { field_name = "x", field_type = "string" })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await stranger.UploadAsync(dataset, taskId, "[]")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await stranger.Http.PostAsync($"/api/v1/datasets/{dataset}/media", new StringContent("[{\"file_name\":\"x.jpg\"}]")))
            .StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var list = await ApiClient.ReadAsync<JsonObject>(await stranger.Http.GetAsync("/api/v1/datasets"), HttpStatusCode.OK);
        list["datasets"]!.AsArray().ShouldBeEmpty();
    }
}
