using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Bogus;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Features.Uploads;

[Collection(SharedAppCollection.Name)]
public sealed class UploadPipelineTests(SharedApp shared)
{
    [Fact]
    public async Task In_a_mixed_file_only_bad_rows_fail_and_the_counts_add_up()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var faker = new Faker { Random = new Randomizer(7) };
        var media = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, 500).Select(i => $"img-{i:D4}.jpg"));
        var expectedErrors = new Dictionary<int, string>();
        var rows = new List<object>();
        for (var i = 0; i < media.Count; i++)
        {
            switch (faker.Random.Int(0, 9))
            {
                case 0:
                    expectedErrors[i] = "float_invalid";
                    rows.Add(new { media_id = media[i], value = faker.Lorem.Word() + "x" });
                    break;
                case 1:
                    expectedErrors[i] = "media_not_found";
                    rows.Add(new { media_id = Guid.NewGuid(), value = 1.5 });
                    break;
                case 2:
                    expectedErrors[i] = "invalid_media_id";
                    rows.Add(new { media_id = "img-" + i, value = 1.5 });
                    break;
                default:
                    rows.Add(new { media_id = media[i], value = faker.Random.Double(0, 100) });
                    break;
            }
        }

        var (taskId, status) = await api.IngestAsync(dataset, "score", "float", rows);

        status["status"]!.GetValue<string>().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(rows.Count - expectedErrors.Count);
        status["error_count"]!.GetValue<long>().ShouldBe(expectedErrors.Count);
        (status["inserted_rows"]!.GetValue<long>() + status["error_count"]!.GetValue<long>()).ShouldBe(rows.Count);
        status["total_rows"]!.GetValue<long>().ShouldBe(rows.Count);
        foreach (var sample in status["sample_errors"]!.AsArray())
        {
            var index = (int)sample!["row_index"]!.GetValue<long>();
            sample["error_code"]!.GetValue<string>().ShouldBe(expectedErrors[index], $"row {index}");
        }
        await using var db = await TestDatabase.OpenConnectionAsync();
        (await CountAsync(db, "SELECT count(*) FROM field_values WHERE task_id = $1", taskId)).ShouldBe(rows.Count - expectedErrors.Count);
        (await CountAsync(db, "SELECT count(*) FROM row_errors WHERE task_id = $1", taskId)).ShouldBe(expectedErrors.Count);
    }

    [Fact]
    public async Task A_media_id_repeated_in_a_file_keeps_the_first_row_and_fails_the_later_ones()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg"]);

        var (_, status) = await api.IngestAsync(dataset, "caption", "string", [
            new { media_id = media[0], value = "first" },
            new { media_id = media[1], value = "other" },
            new { media_id = media[0], value = "second" },
            new { media_id = media[0], value = "third" },
        ]);

        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
        var errors = status["sample_errors"]!.AsArray();
        errors.Select(e => e!["row_index"]!.GetValue<long>()).ShouldBe([2L, 3L]);
        errors.ShouldAllBe(e => e!["error_code"]!.GetValue<string>() == "duplicate_media_id");
        errors[0]!["reason"]!.GetValue<string>().ShouldContain("row 0");
        (await api.MediaValuesAsync(dataset, media[0])).Single()!["value"]!.GetValue<string>().ShouldBe("first");
    }

    [Fact]
    public async Task Status_moves_from_INIT_to_QUEUED_and_ends_with_progress_100()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg"]);
        var taskId = await api.DeclareFieldAsync(dataset, "note", "string");
        (await api.StatusAsync(dataset, taskId))["status"]!.GetValue<string>().ShouldBe("INIT");

        var upload = await api.UploadRowsAsync(dataset, taskId, [new { media_id = media[0], value = "hello" }]);

        var accepted = await ApiClient.ReadAsync<JsonObject>(upload, HttpStatusCode.Accepted);
        accepted["status"]!.GetValue<string>().ShouldBe("QUEUED");
        accepted["task_id"]!.GetValue<Guid>().ShouldBe(taskId);
        var done = await api.WaitForTaskAsync(dataset, taskId);
        done["status"]!.GetValue<string>().ShouldBe("COMPLETED");
        done["progress"]!.GetValue<double>().ShouldBe(100);
        done["started_at"].ShouldNotBeNull();
        done["completed_at"].ShouldNotBeNull();
    }

    [Fact]
    public async Task A_task_is_queued_when_its_whole_file_has_arrived_not_when_its_upload_began()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg"]);
        var taskId = await api.DeclareFieldAsync(dataset, "weight", "float");
        var body = new PausedContent(Encoding.UTF8.GetBytes($$"""[{"media_id": "{{media[0]}}", "value": 2.5}]"""), TimeSpan.FromMilliseconds(600));

        // The test server's own client, not CreateClient's: that one's redirect handler reads a request's whole body
        // before sending it, so the server would never see the pause.
        var streaming = ApiClient.For(shared.App.Server.CreateClient(), api.Http.DefaultRequestHeaders.Authorization!.Parameter!);

        (await streaming.UploadBodyAsync(dataset, taskId, body)).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        var status = await api.WaitForTaskAsync(dataset, taskId);
        var queuedAt = status["queued_at"]!.GetValue<DateTime>().ToUniversalTime();
        queuedAt.ShouldBeGreaterThanOrEqualTo(body.PauseEndedAt!.Value.AddMilliseconds(-5));
        status["started_at"]!.GetValue<DateTime>().ToUniversalTime().ShouldBeGreaterThanOrEqualTo(queuedAt);
    }

    /// <summary>A raw JSON body sent as a slow client sends it: its first byte, a pause, then the rest.</summary>
    private sealed class PausedContent : HttpContent
    {
        private readonly byte[] _bytes;
        private readonly TimeSpan _pause;

        public PausedContent(byte[] bytes, TimeSpan pause)
        {
            (_bytes, _pause) = (bytes, pause);
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        public DateTime? PauseEndedAt { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(_bytes.AsMemory(0, 1));
            await stream.FlushAsync();
            await Task.Delay(_pause);
            PauseEndedAt = DateTime.UtcNow;
            await stream.WriteAsync(_bytes.AsMemory(1));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task A_raw_body_upload_works_like_a_multipart_one()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg"]);
        var taskId = await api.DeclareFieldAsync(dataset, "weight", "float");

        var response = await api.Http.PostAsync($"/api/v1/datasets/{dataset}/custom_metadata/tasks/{taskId}",
            new StringContent($$"""[{"media_id": "{{media[0]}}", "value": 2.5}]""", Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await api.WaitForTaskAsync(dataset, taskId))["inserted_rows"]!.GetValue<long>().ShouldBe(1);
    }

    [Fact]
    public async Task A_second_upload_to_a_task_answers_409()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg"]);
        var taskId = await api.DeclareFieldAsync(dataset, "note", "string");
        (await api.UploadRowsAsync(dataset, taskId, [new { media_id = media[0], value = "x" }])).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        var second = await api.UploadRowsAsync(dataset, taskId, [new { media_id = media[0], value = "y" }]);

        second.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await second.Content.ReadAsStringAsync()).ShouldContain("one file");
    }

    [Fact]
    public async Task An_empty_upload_is_refused_with_400_and_leaves_the_task_open()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var taskId = await api.DeclareFieldAsync(dataset, "note", "string");

        var response = await api.UploadAsync(dataset, taskId, "");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await api.StatusAsync(dataset, taskId))["status"]!.GetValue<string>().ShouldBe("INIT");
    }

    [Fact]
    public async Task A_file_that_is_not_json_fails_the_task_with_a_file_level_error()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var taskId = await api.DeclareFieldAsync(dataset, "note", "string");

        (await api.UploadAsync(dataset, taskId, "this is not json")).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        var status = await api.WaitForTaskAsync(dataset, taskId);
        status["status"]!.GetValue<string>().ShouldBe("FAILED");
        status["error_count"]!.GetValue<long>().ShouldBe(1);
        var error = status["sample_errors"]!.AsArray().Single()!;
        error["line"]!.GetValue<long>().ShouldBe(1);
        error["reason"]!.GetValue<string>().ShouldContain("line 1");
    }

    [Fact]
    public async Task Values_are_immutable_in_the_database_itself()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg"]);
        var (taskId, _) = await api.IngestAsync(dataset, "note", "string", [new { media_id = media[0], value = "original" }]);
        await using var db = await TestDatabase.OpenConnectionAsync();

        var update = await Should.ThrowAsync<PostgresException>(() =>
            ExecuteAsync(db, "UPDATE field_values SET value_text = 'changed' WHERE task_id = $1", taskId));
        var delete = await Should.ThrowAsync<PostgresException>(() =>
            ExecuteAsync(db, "DELETE FROM field_values WHERE task_id = $1", taskId));

        update.MessageText.ShouldContain("immutable");
        delete.MessageText.ShouldContain("immutable");
        (await api.MediaValuesAsync(dataset, media[0])).Single()!["value"]!.GetValue<string>().ShouldBe("original");
    }

    [Fact]
    public async Task Uploading_to_a_task_of_another_dataset_answers_404()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var first = await api.CreateDatasetAsync("first");
        var second = await api.CreateDatasetAsync("second");
        var taskId = await api.DeclareFieldAsync(first, "note", "string");

        var response = await api.UploadAsync(second, taskId, "[]");

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await api.Http.GetAsync($"/api/v1/datasets/{second}/custom_metadata/tasks/{taskId}/status")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    internal static async Task<long> CountAsync(NpgsqlConnection db, string sql, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, db);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection db, string sql, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, db);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }
        await cmd.ExecuteNonQueryAsync();
    }
}
