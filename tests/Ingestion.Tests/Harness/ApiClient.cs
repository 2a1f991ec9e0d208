using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ingestion.Tests.Harness;

/// <summary>The HTTP API in the product's words, for tests. Asserts nothing itself except that setup calls succeed.</summary>
public sealed class ApiClient(HttpClient http)
{
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public HttpClient Http { get; } = http;

    public static ApiClient For(HttpClient http, string token)
    {
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        http.Timeout = TimeSpan.FromMinutes(5);
        return new ApiClient(http);
    }

    public sealed record Workspace(Guid WorkspaceId, string Name, string Token);

    public async Task<Workspace> CreateWorkspaceAsync(string name) =>
        await ReadAsync<Workspace>(await Http.PostAsJsonAsync("/api/v1/workspaces", new { name }), HttpStatusCode.Created);

    public async Task<Guid> CreateDatasetAsync(string name = "dataset")
    {
        var body = await ReadAsync<JsonObject>(await Http.PostAsJsonAsync("/api/v1/datasets", new { name }), HttpStatusCode.Created);
        return body["dataset_id"]!.GetValue<Guid>();
    }

    /// <summary>Registers items named file names and answers their ids, in the same order.</summary>
    public async Task<IReadOnlyList<Guid>> RegisterMediaAsync(Guid datasetId, IEnumerable<string> fileNames)
    {
        var names = fileNames.ToList();
        var ndjson = new StringBuilder();
        foreach (var n in names)
        {
            ndjson.Append(JsonSerializer.Serialize(new { file_name = n })).Append('\n');
        }
        var response = await Http.PostAsync($"/api/v1/datasets/{datasetId}/media",
            new StringContent(ndjson.ToString(), Encoding.UTF8, "application/x-ndjson"));
        await ReadAsync<JsonObject>(response, HttpStatusCode.OK);
        var ids = await MediaIdsAsync(datasetId);
        return names.Select(n => ids[n]).ToList();
    }

    /// <summary>file_name → media_id, read from the export as a user would.</summary>
    public async Task<Dictionary<string, Guid>> MediaIdsAsync(Guid datasetId)
    {
        var export = await ReadAsync<JsonObject>(await Http.GetAsync($"/api/v1/datasets/{datasetId}/export"), HttpStatusCode.OK);
        return export["media_items"]!.AsArray().ToDictionary(i => i!["file_name"]!.GetValue<string>(), i => i!["media_id"]!.GetValue<Guid>());
    }

    public Task<HttpResponseMessage> DeclareAsync(Guid datasetId, object declaration) =>
        Http.PostAsJsonAsync($"/api/v1/datasets/{datasetId}/custom_metadata/tasks", declaration);

    public async Task<Guid> DeclareFieldAsync(Guid datasetId, string name, string type, string[]? options = null, bool? isMulti = null)
    {
        var body = await ReadAsync<JsonObject>(await DeclareAsync(datasetId,
            new { field_name = name, field_type = type, enum_options = options, is_multi = isMulti }), HttpStatusCode.OK);
        return body["task_id"]!.GetValue<Guid>();
    }

    public Task<HttpResponseMessage> UploadAsync(Guid datasetId, Guid taskId, string content, string fileName = "values.json")
    {
        var form = new MultipartFormDataContent { { new StringContent(content, Encoding.UTF8, "application/json"), "file", fileName } };
        return Http.PostAsync($"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}", form);
    }

    /// <summary>Uploads bytes as the multipart part 'file', with the part's file name and content type; query is appended as is.</summary>
    public Task<HttpResponseMessage> UploadFileAsync(Guid datasetId, Guid taskId, byte[] content, string fileName,
        string contentType = "application/octet-stream", string query = "")
    {
        var part = new ByteArrayContent(content);
        part.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return Http.PostAsync($"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}{query}", new MultipartFormDataContent { { part, "file", fileName } });
    }

    /// <summary>Uploads <paramref name="body"/> as the raw request body, headers and all.</summary>
    public Task<HttpResponseMessage> UploadBodyAsync(Guid datasetId, Guid taskId, HttpContent body, string query = "") =>
        Http.PostAsync($"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}{query}", body);

    /// <summary>Uploads a file as a user would and waits for its task (the one the 202 names) to finish.</summary>
    public async Task<JsonObject> UploadAndWaitAsync(Guid datasetId, Task<HttpResponseMessage> upload)
    {
        var accepted = await ReadAsync<JsonObject>(await upload, HttpStatusCode.Accepted);
        return await WaitForTaskAsync(datasetId, accepted["task_id"]!.GetValue<Guid>());
    }

    public Task<HttpResponseMessage> UploadRowsAsync(Guid datasetId, Guid taskId, IEnumerable<object> rows) =>
        UploadAsync(datasetId, taskId, JsonSerializer.Serialize(rows));

    public async Task<JsonObject> StatusAsync(Guid datasetId, Guid taskId) =>
        await ReadAsync<JsonObject>(await Http.GetAsync($"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}/status"), HttpStatusCode.OK);

    /// <summary>Polls the status until the task is finished, as a user would; fails after the timeout.</summary>
    public async Task<JsonObject> WaitForTaskAsync(Guid datasetId, Guid taskId, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            var status = await StatusAsync(datasetId, taskId);
            var s = status["status"]!.GetValue<string>();
            if (s is "COMPLETED" or "COMPLETED_WITH_ERRORS" or "FAILED")
            {
                return status;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Task {taskId} still {s} after the timeout: {status.ToJsonString()}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Declare, upload, wait: the whole pipeline for one field.</summary>
    public async Task<(Guid TaskId, JsonObject Status)> IngestAsync(Guid datasetId, string field, string type, IEnumerable<object> rows,
        string[]? options = null, bool? isMulti = null)
    {
        var taskId = await DeclareFieldAsync(datasetId, field, type, options, isMulti);
        var upload = await UploadRowsAsync(datasetId, taskId, rows);
        upload.StatusCode.ShouldBe(HttpStatusCode.Accepted, await upload.Content.ReadAsStringAsync());
        return (taskId, await WaitForTaskAsync(datasetId, taskId));
    }

    /// <summary>One page of a task's error list; <paramref name="query"/> is the query string without '?'.</summary>
    public async Task<JsonObject> ErrorsAsync(Guid datasetId, Guid taskId, string query = "") =>
        await ReadAsync<JsonObject>(await Http.GetAsync($"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}/errors?{query}"), HttpStatusCode.OK);

    public async Task<string> ErrorsCsvAsync(Guid datasetId, Guid taskId)
    {
        var response = await Http.GetAsync($"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}/errors.csv");
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        return text;
    }

    public Task<HttpResponseMessage> FollowUpAsync(Guid datasetId, string fieldName) =>
        Http.PostAsync($"/api/v1/datasets/{datasetId}/custom_metadata/fields/{Uri.EscapeDataString(fieldName)}/tasks", null);

    /// <summary>Opens a follow-up task on an existing field and answers its id.</summary>
    public async Task<Guid> FollowUpTaskAsync(Guid datasetId, string fieldName) =>
        (await ReadAsync<JsonObject>(await FollowUpAsync(datasetId, fieldName), HttpStatusCode.OK))["task_id"]!.GetValue<Guid>();

    public async Task<JsonArray> MediaValuesAsync(Guid datasetId, Guid mediaId) =>
        await ReadAsync<JsonArray>(await Http.GetAsync($"/api/v1/datasets/{datasetId}/image/{mediaId}/custom_metadata"), HttpStatusCode.OK);

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(expected, text);
        return JsonSerializer.Deserialize<T>(text, Json)!;
    }
}
