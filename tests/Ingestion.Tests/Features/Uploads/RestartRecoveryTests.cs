using System.Net;
using System.Text;
using Bogus;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Uploads;

/// <summary>
/// Work in flight survives the service: a queued upload is processed after a restart, and a node killed
/// mid-file is taken over by another that finishes with exact counts, no duplicates and no lost rows.
/// </summary>
[Collection(SharedAppCollection.Name)]
public sealed class RestartRecoveryTests
{
    [Fact]
    public async Task A_queued_upload_survives_a_restart_and_is_processed_by_the_next_start()
    {
        Guid dataset, taskId;
        IReadOnlyList<Guid> media;
        string token;
        var database = await TestDatabase.IsolatedConnectionStringAsync();
        // An api-only node: it stores the upload and queues it, but runs no workers.
        await using (var apiOnly = await IngestionApp.StartAsync(new Dictionary<string, string?> { ["Ingestion:Jobs:RunWorkers"] = "false" }, database))
        {
            var api = await apiOnly.NewWorkspaceClientAsync();
            token = api.Http.DefaultRequestHeaders.Authorization!.Parameter!;
            dataset = await api.CreateDatasetAsync();
            media = await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg"]);
            taskId = await api.DeclareFieldAsync(dataset, "score", "float");
            (await api.UploadRowsAsync(dataset, taskId, [new { media_id = media[0], value = 1.0 }, new { media_id = media[1], value = "bad" }]))
                .StatusCode.ShouldBe(HttpStatusCode.Accepted);
            await Task.Delay(1500);
            (await api.StatusAsync(dataset, taskId))["status"]!.GetValue<string>().ShouldBe("QUEUED");
        }

        await using var restarted = await IngestionApp.StartAsync(connectionString: database);
        var client = ApiClient.For(restarted.CreateClient(), token);
        var status = await client.WaitForTaskAsync(dataset, taskId);

        status["status"]!.GetValue<string>().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(1);
        status["error_count"]!.GetValue<long>().ShouldBe(1);
    }

    [Theory]
    [InlineData(1, 5_000)]
    // Three passes of about 50,000 items; the first decides its slice and every invalid row (about 55,000 rows), so
    // the kill lands in a later pass, which the next node resumes mid-pass.
    [InlineData(3, 60_000)]
    public async Task A_node_killed_mid_file_is_taken_over_and_the_task_completes_with_exact_counts(int passes, long killAfterRows)
    {
        const int rowCount = 150_000;
        var connectionString = await TestDatabase.IsolatedConnectionStringAsync();
        // Small checkpoints so the kill lands between many committed batches.
        var settings = new Dictionary<string, string>
        {
            ["Ingestion__Ingest__BatchRows"] = "1000",
            ["Ingestion__Ingest__BulkLoadMaxItems"] = (rowCount / passes).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        await using var first = await ServiceProcess.StartAsync(connectionString, settings);
        var admin = first.Client(IngestionApp.AdminToken);
        var workspace = await admin.CreateWorkspaceAsync($"crash-{Guid.NewGuid():N}");
        var api = first.Client(workspace.Token);
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, rowCount).Select(i => $"frame-{i:D6}.jpg"));

        var faker = new Faker { Random = new Randomizer(42) };
        var invalid = 0;
        var file = new StringBuilder("[");
        for (var i = 0; i < rowCount; i++)
        {
            var bad = faker.Random.Double() < 0.05;
            invalid += bad ? 1 : 0;
            file.Append(i == 0 ? "" : ",\n").Append(bad
                ? $$"""{"media_id": "{{media[i]}}", "value": "n/a"}"""
                : $$"""{"media_id": "{{media[i]}}", "value": {{faker.Random.Double(0, 1000).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}}""");
        }
        file.Append(']');
        var taskId = await api.DeclareFieldAsync(dataset, "depth", "float");
        (await api.UploadAsync(dataset, taskId, file.ToString())).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        // Kill the node once it has committed some checkpoints but is far from done.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        long processedAtKill;
        while (true)
        {
            var s = await api.StatusAsync(dataset, taskId);
            processedAtKill = s["rows_processed"]!.GetValue<long>();
            if (s["status"]!.GetValue<string>() == "IN_PROGRESS" && processedAtKill >= killAfterRows)
            {
                first.Kill();
                break;
            }
            s["status"]!.GetValue<string>().ShouldBeOneOf("QUEUED", "IN_PROGRESS");
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the job never got going");
            await Task.Delay(20);
        }

        await using var second = await ServiceProcess.StartAsync(connectionString, settings);
        var status = await second.Client(workspace.Token).WaitForTaskAsync(dataset, taskId, TimeSpan.FromSeconds(120));

        processedAtKill.ShouldBeLessThan(rowCount, "the kill must land mid-file for this test to mean anything");
        status["status"]!.GetValue<string>().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(rowCount - invalid);
        status["error_count"]!.GetValue<long>().ShouldBe(invalid);
        await using var db = new Npgsql.NpgsqlConnection(connectionString);
        await db.OpenAsync();
        (await db.ScalarAsync<int>("SELECT load_passes FROM tasks WHERE task_id = $1", CancellationToken.None, taskId)).ShouldBe(passes);
        (await UploadPipelineTests.CountAsync(db, "SELECT count(*) FROM field_values WHERE task_id = $1", taskId)).ShouldBe(rowCount - invalid);
        (await UploadPipelineTests.CountAsync(db, "SELECT count(*) FROM row_errors WHERE task_id = $1", taskId)).ShouldBe(invalid);
        // The stored upload is dropped just after the final status commits.
        var chunksGone = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await UploadPipelineTests.CountAsync(db, "SELECT count(*) FROM upload_chunks WHERE task_id = $1", taskId) > 0 && DateTime.UtcNow < chunksGone)
        {
            await Task.Delay(100);
        }
        (await UploadPipelineTests.CountAsync(db, "SELECT count(*) FROM upload_chunks WHERE task_id = $1", taskId)).ShouldBe(0);
    }
}
