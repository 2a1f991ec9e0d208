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
    [InlineData(1, 5_000, false)]
    // Three passes of about 50,000 items; the first decides its slice and every invalid row (about 55,000 rows), so
    // the kill lands in a later pass, which the next node resumes mid-pass.
    [InlineData(3, 60_000, false)]
    // A later upload into the field's reload table, which the next node loads on and swaps in; in one pass and in three.
    [InlineData(1, 5_000, true)]
    [InlineData(3, 60_000, true)]
    public async Task A_node_killed_mid_file_is_taken_over_and_the_task_completes_with_exact_counts(int passes, long killAfterRows, bool reload)
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
        // Kill the node once it has committed some checkpoints but is far from done.
        var (token, dataset, taskId, invalid, processedAtKill) = await UploadUntilSeenMidFileAsync(first, connectionString, rowCount, killAfterRows, reload);
        first.Kill();
        var fileRows = reload ? rowCount - EarlierValues : rowCount;

        await using var second = await ServiceProcess.StartAsync(connectionString, settings);
        var status = await second.Client(token).WaitForTaskAsync(dataset, taskId, TimeSpan.FromSeconds(120));

        status["status"]!.GetValue<string>().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(fileRows - invalid);
        status["error_count"]!.GetValue<long>().ShouldBe(invalid);
        await using var db = new Npgsql.NpgsqlConnection(connectionString);
        await db.OpenAsync();
        (await db.ScalarAsync<int>("SELECT load_passes FROM tasks WHERE task_id = $1", CancellationToken.None, taskId)).ShouldBe(passes);
        (await db.ScalarAsync<bool>("SELECT load_reload FROM tasks WHERE task_id = $1", CancellationToken.None, taskId)).ShouldBe(reload);
        await StoredExactlyOnceAsync(db, taskId, fileRows - invalid, invalid);
        // The field's earlier values are all there beside them, and its reload table is gone.
        (await db.ScalarAsync<long>("SELECT count(*) FROM field_values v JOIN tasks t ON t.field_id = v.field_id WHERE t.task_id = $1", CancellationToken.None, taskId))
            .ShouldBe(fileRows - invalid + (reload ? EarlierValues : 0));
        (await db.ScalarAsync<bool>("SELECT to_regclass(field_values_reload_table(field_id)) IS NULL FROM tasks WHERE task_id = $1", CancellationToken.None, taskId))
            .ShouldBeTrue();
        // The stored upload is dropped just after the final status commits.
        var chunksGone = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await db.ScalarAsync<long>(ChunksSql, CancellationToken.None, taskId) > 0 && DateTime.UtcNow < chunksGone)
        {
            await Task.Delay(100);
        }
        (await db.ScalarAsync<long>(ChunksSql, CancellationToken.None, taskId)).ShouldBe(0);
    }

    [Fact]
    public async Task An_upload_in_flight_when_PostgreSQL_crashes_completes_with_exact_counts_once_it_is_back()
    {
        const int rowCount = 100_000;
        // A server of this test's own: the crash must not touch the other tests' database.
        var folder = TestDatabase.NewRunFolder();
        var server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { DataDirectory = Path.Combine(folder, "pg") });
        try
        {
            await using var service = await ServiceProcess.StartAsync(server.ConnectionString,
                new Dictionary<string, string> { ["Ingestion__Ingest__BatchRows"] = "1000" });
            var (token, dataset, taskId, invalid, processedAtCrash) = await UploadUntilSeenMidFileAsync(service, server.ConnectionString, rowCount, 5_000);
            var api = service.Client(token);
            await server.CrashAsync();
            // Down long enough for the job to fail on it, then back on the same port with its WAL replayed.
            await Task.Delay(TimeSpan.FromSeconds(3));
            server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { DataDirectory = Path.Combine(folder, "pg"), Port = server.Port });

            var status = await api.WaitForTaskAsync(dataset, taskId, TimeSpan.FromSeconds(120));
            status["status"]!.GetValue<string>().ShouldBe("COMPLETED_WITH_ERRORS");
            status["inserted_rows"]!.GetValue<long>().ShouldBe(rowCount - invalid);
            status["error_count"]!.GetValue<long>().ShouldBe(invalid);
            await using var db = new Npgsql.NpgsqlConnection(server.ConnectionString);
            await db.OpenAsync();
            await StoredExactlyOnceAsync(db, taskId, rowCount - invalid, invalid);
        }
        finally
        {
            await server.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    private const string ChunksSql = "SELECT count(*) FROM upload_chunks WHERE task_id = $1";

    // With a reload, the field's first upload gives this many items a value; the upload under test names the rest.
    private const int EarlierValues = 100;

    /// <summary>
    /// A workspace, a dataset of <paramref name="rowCount"/> items and a float field, with its first upload sent; or,
    /// with <paramref name="reload"/>, a later upload, large beside the field's first one, which the job reloads.
    /// </summary>
    private static async Task<(ApiClient Api, string Token, Guid Dataset, Guid TaskId, int Invalid)> StartFloatUploadAsync(ServiceProcess service, int rowCount,
        bool reload)
    {
        var workspace = await service.Client(IngestionApp.AdminToken).CreateWorkspaceAsync($"crash-{Guid.NewGuid():N}");
        var api = service.Client(workspace.Token);
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, rowCount).Select(i => $"frame-{i:D6}.jpg"));
        var taskId = await api.DeclareFieldAsync(dataset, "depth", "float");
        if (reload)
        {
            (await api.UploadRowsAsync(dataset, taskId, media.Take(EarlierValues).Select(m => (object)new { media_id = m, value = 1.5 })))
                .StatusCode.ShouldBe(HttpStatusCode.Accepted);
            (await api.WaitForTaskAsync(dataset, taskId))["inserted_rows"]!.GetValue<long>().ShouldBe(EarlierValues);
            taskId = await api.FollowUpTaskAsync(dataset, "depth");
            media = media.Skip(EarlierValues).ToList();
        }
        var (file, invalid) = FloatFile(media);
        (await api.UploadAsync(dataset, taskId, file)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        return (api, workspace.Token, dataset, taskId, invalid);
    }

    /// <summary>
    /// Sends a float upload of <paramref name="rowCount"/> rows and waits until it is in progress with at least
    /// <paramref name="rows"/> rows processed and some left, so that what the test does next lands mid-file. The rows of
    /// a load take well under a second, so the test process stalling that long (a collection, other tests on two cores)
    /// lets them go by unseen; the test then sends another upload, at most three in all.
    /// </summary>
    private static async Task<(string Token, Guid Dataset, Guid TaskId, int Invalid, long Processed)> UploadUntilSeenMidFileAsync(
        ServiceProcess service, string connectionString, int rowCount, long rows, bool reload = false)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (_, token, dataset, taskId, invalid) = await StartFloatUploadAsync(service, rowCount, reload);
            var taskIdToWatch = taskId;
            // A thread of its own, reading synchronously: a test thread-pool busy with other tests does not delay it.
            var fileRows = reload ? rowCount - EarlierValues : rowCount;
            var processed = await Task.Factory.StartNew(() => WaitUntilProcessed(connectionString, taskIdToWatch, rows, fileRows),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (processed is { } seen)
            {
                return (token, dataset, taskId, invalid, seen);
            }
            attempt.ShouldBeLessThan(3, "three uploads in a row went by before the test saw them mid-file");
        }
    }

    /// <summary>
    /// Polls until the task is in progress with at least <paramref name="rows"/> rows processed and fewer than
    /// <paramref name="rowCount"/>, and says how many; null when it got past them unseen. It reads the task's committed
    /// checkpoint from the database every few milliseconds rather than asking the service, whose first answers after a
    /// start come slowly while it compiles.
    /// </summary>
    private static long? WaitUntilProcessed(string connectionString, Guid taskId, long rows, long rowCount)
    {
        // Unpooled: the crash test takes the server down right after this, and the test's own later connection must not
        // be handed this one back from the pool.
        using var db = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        db.Open();
        using var cmd = new Npgsql.NpgsqlCommand("SELECT status, rows_processed FROM tasks WHERE task_id = $1", db)
        {
            Parameters = { new() { Value = taskId } },
        };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using (var r = cmd.ExecuteReader())
            {
                r.Read();
                var (status, processed) = (r.GetString(0), r.GetInt64(1));
                if (status == "IN_PROGRESS" && processed >= rows)
                {
                    return processed < rowCount ? processed : null; // at the end, the rows are done: too late
                }
                if (status != "QUEUED" && status != "IN_PROGRESS")
                {
                    return null;
                }
            }
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the job never got going");
            Thread.Sleep(5);
        }
    }

    /// <summary>A JSON file of one float row per item, about 5% of them invalid (seeded), and how many are.</summary>
    private static (string File, int Invalid) FloatFile(IReadOnlyList<Guid> media)
    {
        var faker = new Faker { Random = new Randomizer(42) };
        var invalid = 0;
        var file = new StringBuilder("[");
        for (var i = 0; i < media.Count; i++)
        {
            var bad = faker.Random.Double() < 0.05;
            invalid += bad ? 1 : 0;
            file.Append(i == 0 ? "" : ",\n").Append(bad
                ? $$"""{"media_id": "{{media[i]}}", "value": "n/a"}"""
                : $$"""{"media_id": "{{media[i]}}", "value": {{faker.Random.Double(0, 1000).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}}""");
        }
        return (file.Append(']').ToString(), invalid);
    }

    /// <summary>Every valid row stored once and every invalid one refused once: nothing lost, nothing twice.</summary>
    private static async Task StoredExactlyOnceAsync(Npgsql.NpgsqlConnection db, Guid taskId, long values, long errors)
    {
        (await db.ScalarAsync<long>("SELECT count(*) FROM field_values WHERE task_id = $1", CancellationToken.None, taskId)).ShouldBe(values);
        (await db.ScalarAsync<long>("SELECT count(DISTINCT row_index) FROM field_values WHERE task_id = $1", CancellationToken.None, taskId)).ShouldBe(values);
        (await db.ScalarAsync<long>("SELECT count(*) FROM row_errors WHERE task_id = $1", CancellationToken.None, taskId)).ShouldBe(errors);
    }
}
