using System.Net;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;
using Npgsql;
using static Ingestion.Tests.Features.Uploads.UploadFiles;

namespace Ingestion.Tests.Features.Uploads;

/// <summary>
/// The service with small limits. It gets a database of its own: nodes sharing a database form one job cluster,
/// and a task must be processed under the limits of the node it was uploaded to.
/// </summary>
public sealed class LimitedApp : IAsyncLifetime
{
    public const long MaxUploadBytes = 4096;
    public const long MaxRows = 3;
    public const int MaxLineBytes = 256;
    public const int MaxValueLength = 10;

    /// <summary>Checkpoints of two rows, so that small files span several.</summary>
    public const int BatchRows = 2;

    public IngestionApp App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var server = await TestDatabase.ConnectionStringAsync();
        var database = $"limits_{Guid.NewGuid():N}";
        await using (var conn = new NpgsqlConnection(server))
        {
            await conn.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", conn);
            await create.ExecuteNonQueryAsync();
        }
        App = await Task.Run(() =>
        {
            var app = new IngestionApp(new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString,
                new Dictionary<string, string?>
                {
                    ["Ingestion:Limits:MaxUploadBytes"] = MaxUploadBytes.ToString(),
                    ["Ingestion:Limits:MaxRows"] = MaxRows.ToString(),
                    ["Ingestion:Limits:MaxLineBytes"] = MaxLineBytes.ToString(),
                    ["Ingestion:Limits:MaxValueLength"] = MaxValueLength.ToString(),
                    ["Ingestion:Ingest:BatchRows"] = BatchRows.ToString(),
                });
            _ = app.Server;
            return app;
        });
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

public sealed class UploadLimitTests(LimitedApp limited) : IClassFixture<LimitedApp>
{
    private static string Row(Guid mediaId, string value) => JsonRow(mediaId, value) + "\n";

    [Fact]
    public async Task An_upload_declared_larger_than_the_limit_answers_413_with_the_limit_and_keeps_the_task_open()
    {
        var s = await UploadScenario.CreateAsync(await limited.App.NewWorkspaceClientAsync(), 1);

        var response = await s.UploadAsync(new byte[LimitedApp.MaxUploadBytes + 1], "values.csv");

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.RequestEntityTooLarge);
        problem["max_upload_bytes"]!.GetValue<long>().ShouldBe(LimitedApp.MaxUploadBytes);
        problem["detail"]!.GetValue<string>().ShouldContain("4,096 bytes");
        (await s.Api.StatusAsync(s.Dataset, s.Task)).Status().ShouldBe("INIT");
    }

    [Fact]
    public async Task A_streamed_upload_without_a_length_is_cut_at_the_limit_with_413_and_nothing_is_kept()
    {
        var s = await UploadScenario.CreateAsync(await limited.App.NewWorkspaceClientAsync(), 1);
        var oversized = Utf8(string.Concat(Enumerable.Repeat(Row(s.MediaIds[0], "x"), 100)));
        var unknownLength = new StreamContent(new UnseekableStream(oversized));
        unknownLength.Headers.ContentLength.ShouldBeNull();

        var response = await s.Api.UploadBodyAsync(s.Dataset, s.Task, unknownLength, "?format=ndjson");

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.RequestEntityTooLarge);
        problem["max_upload_bytes"]!.GetValue<long>().ShouldBe(LimitedApp.MaxUploadBytes);
        var retry = await s.UploadAndWaitAsync(Utf8(Row(s.MediaIds[0], "x")), "values.ndjson");
        retry.Status().ShouldBe("COMPLETED");
        retry["upload_bytes"]!.GetValue<long>().ShouldBe(Row(s.MediaIds[0], "x").Length);
    }

    [Fact]
    public async Task Rows_beyond_the_row_limit_become_one_file_level_error()
    {
        var s = await UploadScenario.CreateAsync(await limited.App.NewWorkspaceClientAsync(), 5);
        var ndjson = string.Concat(s.MediaIds.Select(m => Row(m, "v")));

        var status = await s.UploadAndWaitAsync(Utf8(ndjson), "values.ndjson");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(LimitedApp.MaxRows);
        status["total_rows"]!.GetValue<long>().ShouldBe(LimitedApp.MaxRows);
        status.ShouldAccountFor(LimitedApp.MaxRows, fileError: true);
        var error = FileError(status);
        (error["error_code"]!.GetValue<string>(), error["row_index"]!.GetValue<long>(), error["line"]!.GetValue<long>())
            .ShouldBe(("too_many_rows", LimitedApp.MaxRows, LimitedApp.MaxRows + 1));
        error["reason"]!.GetValue<string>().ShouldContain("more than 3 rows");
    }

    [Fact]
    public async Task A_line_longer_than_the_limit_keeps_the_rows_before_it_and_is_reported_on_its_line()
    {
        var s = await UploadScenario.CreateAsync(await limited.App.NewWorkspaceClientAsync(), 3);
        var longLine = $"{s.MediaIds[1]},{new string('x', LimitedApp.MaxLineBytes)}\n";
        var csv = $"media_id,value\n{s.MediaIds[0]},short\n{longLine}{s.MediaIds[2]},short\n";

        var status = await s.UploadAndWaitAsync(Utf8(csv), "values.csv");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(1);
        status.ShouldAccountFor(1, fileError: true);
        var error = FileError(status);
        (error["error_code"]!.GetValue<string>(), error["row_index"]!.GetValue<long>(), error["line"]!.GetValue<long>(), error["column"]!.GetValue<long>())
            .ShouldBe(("line_too_long", 1L, 3L, LimitedApp.MaxLineBytes + 1L));
        error["reason"]!.GetValue<string>().ShouldContain("256 bytes");
    }

    [Fact]
    public async Task A_string_longer_than_the_value_length_limit_is_a_row_error()
    {
        var s = await UploadScenario.CreateAsync(await limited.App.NewWorkspaceClientAsync(), 2);

        var status = await s.UploadAndWaitAsync(Utf8(Row(s.MediaIds[0], "ten chars!") + Row(s.MediaIds[1], "eleven char")), "values.ndjson");

        status.ShouldAccountFor(2);
        var error = SampleErrors(status).Single();
        (error["row_index"]!.GetValue<long>(), error["error_code"]!.GetValue<string>()).ShouldBe((1L, "string_too_long"));
        error["reason"]!.GetValue<string>().ShouldContain("at most 10");
    }

    [Fact]
    public async Task A_dry_run_finds_a_repeat_in_a_later_checkpoint_of_the_file()
    {
        var s = await UploadScenario.CreateAsync(await limited.App.NewWorkspaceClientAsync(), 2);
        var ndjson = Row(s.MediaIds[0], "a") + Row(s.MediaIds[1], "b") + Row(s.MediaIds[0], "c");

        var status = await s.UploadAndWaitAsync(Utf8(ndjson), "values.ndjson", query: "?dry_run=true");

        status.ShouldAccountFor(3);
        var error = SampleErrors(status).Single();
        (error["row_index"]!.GetValue<long>(), error["error_code"]!.GetValue<string>()).ShouldBe((2L, "duplicate_media_id"));
        error["reason"]!.GetValue<string>().ShouldContain("row 0");
        (await s.Api.MediaValuesAsync(s.Dataset, s.MediaIds[0])).ShouldBeEmpty();
    }

    /// <summary>A body whose length HttpClient cannot know, so it is sent chunked.</summary>
    private sealed class UnseekableStream(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;
    }
}
