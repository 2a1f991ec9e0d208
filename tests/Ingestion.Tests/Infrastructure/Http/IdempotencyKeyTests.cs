using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Infrastructure.Http;

[Collection(SharedAppCollection.Name)]
public sealed class IdempotencyKeyTests(SharedApp shared)
{
    private static Task<HttpResponseMessage> SendAsync(ApiClient api, string path, string key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Add("Idempotency-Key", key);
        return api.Http.SendAsync(request);
    }

    private static Task<HttpResponseMessage> DeclareAsync(ApiClient api, Guid dataset, string key, string fieldName) =>
        SendAsync(api, $"/api/v1/datasets/{dataset}/custom_metadata/tasks", key,
            JsonContent.Create(new { field_name = fieldName, field_type = "float" }));

    private static async Task<JsonArray> FieldsAsync(ApiClient api, Guid dataset) =>
        (await ApiClient.ReadAsync<JsonObject>(await api.Http.GetAsync($"/api/v1/datasets/{dataset}/custom_metadata/schema"), HttpStatusCode.OK))["fields"]!.AsArray();

    [Fact]
    public async Task Declaring_twice_with_the_same_key_answers_the_first_answer_and_declares_one_field()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var first = await DeclareAsync(api, dataset, "declare-1", "temperature");
        var retry = await DeclareAsync(api, dataset, "declare-1", "temperature");

        first.StatusCode.ShouldBe(HttpStatusCode.OK);
        retry.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await retry.Content.ReadAsStringAsync()).ShouldBe(await first.Content.ReadAsStringAsync());
        retry.Headers.GetValues("Idempotent-Replayed").ShouldBe(["true"]);
        (await FieldsAsync(api, dataset)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Reusing_a_key_with_another_body_or_path_answers_422_and_changes_nothing()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        (await DeclareAsync(api, dataset, "k", "temperature")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var otherBody = await DeclareAsync(api, dataset, "k", "humidity");
        var otherPath = await SendAsync(api, $"/api/v1/datasets/{dataset}/custom_metadata/fields/temperature/tasks", "k");

        (await ApiClient.ReadAsync<JsonObject>(otherBody, HttpStatusCode.UnprocessableEntity))["detail"]!.GetValue<string>().ShouldContain("another request");
        otherPath.StatusCode.ShouldBe(HttpStatusCode.UnprocessableEntity);
        (await FieldsAsync(api, dataset)).Select(f => f!["field_name"]!.GetValue<string>()).ShouldBe(["temperature"]);
    }

    [Fact]
    public async Task Concurrent_retries_with_one_key_run_the_request_once()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => DeclareAsync(api, dataset, "burst", "temperature")));

        // Each retry either got the one answer or was told the first request is still running; none declared again.
        answers.ShouldAllBe(a => a.StatusCode == HttpStatusCode.OK || a.StatusCode == HttpStatusCode.Conflict);
        var bodies = await Task.WhenAll(answers.Where(a => a.StatusCode == HttpStatusCode.OK).Select(a => a.Content.ReadAsStringAsync()));
        bodies.ShouldNotBeEmpty();
        bodies.Distinct().Count().ShouldBe(1);
        foreach (var conflict in answers.Where(a => a.StatusCode == HttpStatusCode.Conflict))
        {
            (await conflict.Content.ReadAsStringAsync()).ShouldContain("still running");
        }
        (await FieldsAsync(api, dataset)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_retried_follow_up_task_and_upload_answer_the_first_task_and_process_the_file_once()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var item = (await api.RegisterMediaAsync(dataset, ["a.jpg"]))[0];
        await api.DeclareFieldAsync(dataset, "temperature", "float");
        var followUpPath = $"/api/v1/datasets/{dataset}/custom_metadata/fields/temperature/tasks";

        var task = (await ApiClient.ReadAsync<JsonObject>(await SendAsync(api, followUpPath, "follow-up"), HttpStatusCode.OK))["task_id"]!.GetValue<Guid>();
        var again = (await ApiClient.ReadAsync<JsonObject>(await SendAsync(api, followUpPath, "follow-up"), HttpStatusCode.OK))["task_id"]!.GetValue<Guid>();
        var uploadPath = $"/api/v1/datasets/{dataset}/custom_metadata/tasks/{task}";
        var file = $$"""[{"media_id": "{{item}}", "value": 21.5}]""";
        var upload = await SendAsync(api, uploadPath, "upload", new StringContent(file, Encoding.UTF8, "application/json"));
        var uploadAgain = await SendAsync(api, uploadPath, "upload", new StringContent(file, Encoding.UTF8, "application/json"));

        again.ShouldBe(task);
        upload.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        uploadAgain.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await uploadAgain.Content.ReadAsStringAsync()).ShouldBe(await upload.Content.ReadAsStringAsync());
        uploadAgain.Headers.Location.ShouldBe(upload.Headers.Location);
        var status = await api.WaitForTaskAsync(dataset, task);
        status["inserted_rows"]!.GetValue<long>().ShouldBe(1);
        status["error_count"]!.GetValue<long>().ShouldBe(0);
    }

    [Fact]
    public async Task An_overlong_key_answers_400_and_declares_nothing()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await DeclareAsync(api, dataset, new string('k', 256), "temperature");

        (await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest))["detail"]!.GetValue<string>().ShouldContain("Idempotency-Key");
        (await FieldsAsync(api, dataset)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Keys_belong_to_a_workspace()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var other = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var otherDataset = await other.CreateDatasetAsync();

        (await DeclareAsync(api, dataset, "shared-key", "temperature")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var elsewhere = await DeclareAsync(other, otherDataset, "shared-key", "temperature");

        elsewhere.StatusCode.ShouldBe(HttpStatusCode.OK);
        elsewhere.Headers.Contains("Idempotent-Replayed").ShouldBeFalse();
        (await FieldsAsync(other, otherDataset)).Count.ShouldBe(1);
    }
}
