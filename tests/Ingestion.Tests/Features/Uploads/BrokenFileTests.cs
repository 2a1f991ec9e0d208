using Bogus;
using Ingestion.Api.Features.Uploads;
using Ingestion.Tests.Harness;
using static Ingestion.Tests.Features.Uploads.UploadFiles;

namespace Ingestion.Tests.Features.Uploads;

/// <summary>A file that breaks part-way keeps the rows before the break, and the break is one file-level row error.</summary>
[Collection(SharedAppCollection.Name)]
public sealed class BrokenFileTests(SharedApp shared)
{
    [Fact]
    public async Task Malformed_JSON_keeps_the_rows_before_it_and_reports_its_line_and_column()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3);
        var broken = $"{{\"media_id\":\"{s.MediaIds[2]}\",\"value\":tru";
        var json = $"[\n{JsonRow(s.MediaIds[0], "a")},\n{JsonRow(s.MediaIds[1], "b")},\n{broken}}}\n]";

        var status = await s.UploadAndWaitAsync(Utf8(json), "values.json");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
        status.ShouldAccountFor(2, fileError: true);
        var error = FileError(status);
        error["error_code"]!.GetValue<string>().ShouldBe("malformed_json");
        error["row_index"]!.GetValue<long>().ShouldBe(2);
        error["line"]!.GetValue<long>().ShouldBe(4);
        error["column"]!.GetValue<long>().ShouldBe(broken.Length + 1); // the '}' where "true" should go on
    }

    [Fact]
    public async Task A_truncated_JSON_file_keeps_the_complete_rows_and_says_it_looks_truncated()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3);
        var json = $"[{JsonRow(s.MediaIds[0], "a")},{JsonRow(s.MediaIds[1], "b")},{{\"media_id\":\"{s.MediaIds[2]}";

        var status = await s.UploadAndWaitAsync(Utf8(json), "values.json");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
        status.ShouldAccountFor(2, fileError: true);
        var error = FileError(status);
        error["error_code"]!.GetValue<string>().ShouldBe("truncated_file");
        error["reason"]!.GetValue<string>().ShouldContain("truncated");
    }

    [Fact]
    public async Task An_unbalanced_CSV_quote_is_reported_where_it_opens()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3);
        var csv = $"media_id,value\n{s.MediaIds[0]},a\n{s.MediaIds[1]},\"b\n{s.MediaIds[2]},c\n";

        var status = await s.UploadAndWaitAsync(Utf8(csv), "values.csv");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(1);
        status.ShouldAccountFor(1, fileError: true);
        var error = FileError(status);
        error["error_code"]!.GetValue<string>().ShouldBe("unbalanced_quote");
        (error["row_index"]!.GetValue<long>(), error["line"]!.GetValue<long>(), error["column"]!.GetValue<long>()).ShouldBe((1L, 3L, 38L));
        error["reason"]!.GetValue<string>().ShouldContain("never closed");
    }

    [Theory]
    [InlineData("values.ndjson")]
    [InlineData("values.csv")]
    [InlineData("values.json")]
    public async Task Invalid_UTF8_keeps_the_rows_before_it_and_reports_the_byte(string fileName)
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3);
        var (head, prefix, tail) = fileName switch
        {
            "values.csv" => ($"media_id,value\n{s.MediaIds[0]},a\n{s.MediaIds[1]},b\n", $"{s.MediaIds[2]},caf", "\n"),
            "values.ndjson" => ($"{JsonRow(s.MediaIds[0], "a")}\n{JsonRow(s.MediaIds[1], "b")}\n", $"{{\"media_id\":\"{s.MediaIds[2]}\",\"value\":\"caf", "\"}\n"),
            _ => ($"[\n{JsonRow(s.MediaIds[0], "a")},\n{JsonRow(s.MediaIds[1], "b")},\n", $"{{\"media_id\":\"{s.MediaIds[2]}\",\"value\":\"caf", "\"}\n]"),
        };
        byte[] file = [.. Utf8(head), .. Utf8(prefix), 0xE9, .. Utf8(tail)];

        var status = await s.UploadAndWaitAsync(file, fileName);

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
        status.ShouldAccountFor(2, fileError: true);
        var error = FileError(status);
        error["error_code"]!.GetValue<string>().ShouldBe("invalid_utf8");
        var line = head.Count(c => c == '\n') + 1;
        (error["line"]!.GetValue<long>(), error["column"]!.GetValue<long>()).ShouldBe((line, prefix.Length + 1));
        error["reason"]!.GetValue<string>().ShouldContain("0xE9");
    }

    [Fact]
    public async Task Nesting_deeper_than_the_limit_in_a_JSON_array_is_reported_on_its_line()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 2);
        var prefix = $"{{\"media_id\":\"{s.MediaIds[1]}\",\"value\":";
        var json = $"[{JsonRow(s.MediaIds[0], "a")},\n{prefix}{new string('[', 20)}{new string(']', 20)}}}]\n";

        var status = await s.UploadAndWaitAsync(Utf8(json), "values.json");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(1);
        status.ShouldAccountFor(1, fileError: true);
        var error = FileError(status);
        error["error_code"]!.GetValue<string>().ShouldBe("too_deep");
        error["line"]!.GetValue<long>().ShouldBe(2);
        error["column"]!.GetValue<long>().ShouldBe(prefix.Length + 15); // the array, the row object and 14 arrays make the limit of 16
    }

    [Fact]
    public async Task A_broken_NDJSON_line_fails_alone_and_the_lines_after_it_are_stored()
    {
        // NDJSON lines are independent: a line that is not JSON is one row error, as a bad value is, and the file goes on.
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 6);
        var id = s.MediaIds;
        string[] lines =
        [
            JsonRow(id[0], "a"),
            $"{{\"media_id\":\"{id[1]}\",\"value\":tru}}",
            JsonRow(id[2], "c"),
            $"{{\"media_id\":\"{id[3]}\",\"value\":{new string('[', 20)}{new string(']', 20)}}}",
            "this is not json",
            JsonRow(id[4], "e"),
            "",
            JsonRow(id[5], "f"),
        ];

        var status = await s.UploadAndWaitAsync(Utf8(string.Join("\r\n", lines) + "\r\n"), "values.ndjson");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS", status.ToJsonString());
        status["inserted_rows"]!.GetValue<long>().ShouldBe(4);
        status.ShouldAccountFor(7);
        var errors = (await s.Api.ErrorsAsync(s.Dataset, s.Task))["errors"]!.AsArray();
        errors.Select(e => (e!["row_index"]!.GetValue<long>(), e["error_code"]!.GetValue<string>(), e["line"]!.GetValue<long>(), e["is_file_error"]!.GetValue<bool>()))
            .ShouldBe([(1L, "malformed_line", 2L, false), (3L, "malformed_line", 4L, false), (4L, "malformed_line", 5L, false)]);
        errors[0]!["reason"]!.GetValue<string>().ShouldStartWith("Line 2 is not valid JSON at column ");
        errors[0]!["value"]!.GetValue<string>().ShouldBe(lines[1]);
        errors[2]!["value"]!.GetValue<string>().ShouldBe("this is not json");
        (await s.ValueOfAsync(5)).ShouldBe("\"f\"");
    }

    [Fact]
    public async Task A_file_broken_in_the_first_of_several_stored_chunks_ends_cleanly_and_the_next_upload_runs()
    {
        // Megabytes of rows after the break: the reader stops with stored chunks left unread.
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3);
        var after = string.Concat(Enumerable.Repeat(JsonRow(s.MediaIds[2], new string('x', 100)) + ",\n", 30_000));
        var json = Utf8($"[\n{JsonRow(s.MediaIds[0], "a")},\n{JsonRow(s.MediaIds[1], "b")},\n{{\"media_id\": }},\n{after}{JsonRow(s.MediaIds[2], "c")}\n]");
        json.Length.ShouldBeGreaterThan(3 * UploadsApi.ChunkBytes);

        var status = await s.UploadAndWaitAsync(json, "values.json");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
        status.ShouldAccountFor(2, fileError: true);
        (FileError(status)["error_code"]!.GetValue<string>(), FileError(status)["line"]!.GetValue<long>()).ShouldBe(("malformed_json", 4L));
        var next = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 2);
        var nextStatus = await next.UploadAndWaitAsync(Utf8($"[{JsonRow(next.MediaIds[0], "a")},{JsonRow(next.MediaIds[1], "b")}]"), "values.json");
        nextStatus.Status().ShouldBe("COMPLETED");
        nextStatus["inserted_rows"]!.GetValue<long>().ShouldBe(2);
    }

    [Fact]
    public async Task A_file_broken_before_its_first_row_fails_with_the_reason()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 1);

        var status = await s.UploadAndWaitAsync(Utf8("[{\"media_id\": }]"), "values.json");

        status.Status().ShouldBe("FAILED");
        status.ShouldAccountFor(0, fileError: true);
        FileError(status)["error_code"]!.GetValue<string>().ShouldBe("malformed_json");
        status["failure_reason"]!.GetValue<string>().ShouldContain("line 1");
    }

    [Fact]
    public async Task A_cut_off_gzip_file_keeps_the_complete_rows_and_reports_the_cut()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 300);
        var faker = new Faker { Random = new Randomizer(11) };
        var ndjson = string.Concat(s.MediaIds.Select(m => JsonRow(m, faker.Lorem.Sentence(12)) + "\n"));
        var gzip = Gzip(Utf8(ndjson));

        var status = await s.UploadAndWaitAsync(gzip[..(gzip.Length / 2)], "values.ndjson.gz");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        var rows = status["total_rows"]!.GetValue<long>();
        rows.ShouldBeInRange(1, 299);
        status["inserted_rows"]!.GetValue<long>().ShouldBe(rows);
        status.ShouldAccountFor(rows, fileError: true);
        var error = FileError(status);
        error["error_code"]!.GetValue<string>().ShouldBe("corrupt_gzip");
        error["row_index"]!.GetValue<long>().ShouldBe(rows);
        error["line"]!.GetValue<long>().ShouldBe(rows + 1);
    }
}
