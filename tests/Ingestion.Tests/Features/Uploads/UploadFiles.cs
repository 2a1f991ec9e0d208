using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Bogus;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Uploads;

/// <summary>A dataset with registered media items and a declared field, and the files a test uploads to it.</summary>
public sealed record UploadScenario(ApiClient Api, Guid Dataset, Guid Task, IReadOnlyList<string> FileNames, IReadOnlyList<Guid> MediaIds)
{
    public static async Task<UploadScenario> CreateAsync(ApiClient api, int mediaItems, string type = "string", string[]? options = null,
        bool? isMulti = null, int seed = 7)
    {
        var faker = new Faker { Random = new Randomizer(seed) };
        var names = Enumerable.Range(0, mediaItems).Select(i => $"{faker.System.FileName("jpg")}-{i}.jpg").ToList();
        var dataset = await api.CreateDatasetAsync();
        var ids = await api.RegisterMediaAsync(dataset, names);
        var task = await api.DeclareFieldAsync(dataset, "note", type, options, isMulti);
        return new UploadScenario(api, dataset, task, names, ids);
    }

    public Task<HttpResponseMessage> UploadAsync(byte[] content, string fileName, string contentType = "application/octet-stream", string query = "") =>
        Api.UploadFileAsync(Dataset, Task, content, fileName, contentType, query);

    public Task<JsonObject> UploadAndWaitAsync(byte[] content, string fileName, string contentType = "application/octet-stream", string query = "") =>
        Api.UploadAndWaitAsync(Dataset, UploadAsync(content, fileName, contentType, query));

    public async Task<string?> ValueOfAsync(int item)
    {
        var values = await Api.MediaValuesAsync(Dataset, MediaIds[item]);
        return values.Count == 0 ? null : values.Single()!["value"]!.ToJsonString();
    }
}

public static class UploadFiles
{
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static byte[] Gzip(byte[] content)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }
        return output.ToArray();
    }

    /// <summary>One row as JSON text, written out so a test knows every byte's position.</summary>
    public static string JsonRow(Guid mediaId, string value) => $"{{\"media_id\":\"{mediaId}\",\"value\":\"{value}\"}}";

    public static string Ndjson(params object[] rows) =>
        string.Concat(rows.Select(r => System.Text.Json.JsonSerializer.Serialize(r) + "\n"));

    public static JsonObject[] SampleErrors(JsonObject status) => status["sample_errors"]!.AsArray().Select(e => e!.AsObject()).ToArray();

    public static JsonObject FileError(JsonObject status) => SampleErrors(status).Single(e => e["column"] is not null);

    /// <summary>Every row is accounted for: stored, or reported (a file-level error counts once on top of the rows).</summary>
    public static void ShouldAccountFor(this JsonObject status, long rows, bool fileError = false)
    {
        (status["inserted_rows"]!.GetValue<long>() + status["error_count"]!.GetValue<long>())
            .ShouldBe(rows + (fileError ? 1 : 0), status.ToJsonString());
    }

    public static string Status(this JsonObject status) => status["status"]!.GetValue<string>();
}
