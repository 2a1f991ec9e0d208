using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;
using static Ingestion.Tests.Features.Uploads.UploadFiles;

namespace Ingestion.Tests.Features.Uploads;

[Collection(SharedAppCollection.Name)]
public sealed class UploadFormatTests(SharedApp shared)
{
    [Fact]
    public async Task A_CSV_with_BOM_CRLF_quoted_commas_newlines_and_quotes_stores_each_value_as_written()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 4);
        var id = s.MediaIds;
        var csv = "\uFEFFmedia_id,value,comment\r\n" +
                  $"{id[0]},\"Hello, world\",ignored\r\n" +
                  $"{id[1]},\"two\r\nlines\",ignored\r\n" +
                  $"{id[2]},\"say \"\"hi\"\"\",ignored\r\n" +
                  $"{id[3]},,ignored\r\n" +
                  "not-a-uuid,x,ignored\r\n";

        var status = await s.UploadAndWaitAsync(Utf8(csv), "values.csv", "text/csv");

        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["upload_format"]!.GetValue<string>().ShouldBe("csv");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(3);
        status.ShouldAccountFor(5);
        (await s.ValueOfAsync(0)).ShouldBe("\"Hello, world\"");
        (await s.ValueOfAsync(1)).ShouldBe("\"two\\r\\nlines\"");
        (await s.ValueOfAsync(2)).ShouldBe("\"say \\u0022hi\\u0022\"");
        var errors = SampleErrors(status);
        errors.Select(e => (e["row_index"]!.GetValue<long>(), e["error_code"]!.GetValue<string>(), e["line"]!.GetValue<long>()))
            .ShouldBe([(3L, "missing_value", 6L), (4L, "invalid_media_id", 7L)]);
    }

    [Theory]
    [InlineData("values.json")]
    [InlineData("values.ndjson")]
    [InlineData("values.csv.gz")]
    public async Task Files_larger_than_the_read_buffers_keep_every_multibyte_character(string fileName)
    {
        const int rows = 2500;
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), rows);
        var faker = new Bogus.Faker { Random = new Bogus.Randomizer(3) };
        var values = s.MediaIds.Select(_ => $"{faker.Lorem.Sentence(8)} — café 日本 😀").ToList();
        var file = fileName switch
        {
            "values.json" => Utf8(System.Text.Json.JsonSerializer.Serialize(s.MediaIds.Select((m, i) => new { media_id = m, value = values[i] }))),
            "values.ndjson" => Utf8(Ndjson([.. s.MediaIds.Select((m, i) => (object)new { media_id = m, value = values[i] })])),
            _ => Gzip(Utf8("media_id,value\r\n" + string.Concat(s.MediaIds.Select((m, i) => $"{m},\"{values[i]}\"\r\n")))),
        };

        var status = await s.UploadAndWaitAsync(file, fileName);

        status.Status().ShouldBe("COMPLETED", status.ToJsonString());
        status["inserted_rows"]!.GetValue<long>().ShouldBe(rows);
        foreach (var i in new[] { 0, rows / 2, rows - 1 })
        {
            (await s.Api.MediaValuesAsync(s.Dataset, s.MediaIds[i])).Single()!["value"]!.GetValue<string>().ShouldBe(values[i]);
        }
    }

    [Fact]
    public async Task A_CSV_multi_select_cell_holds_a_JSON_array_and_rows_may_name_items_by_file_name()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3, "enum", ["red", "blue"], isMulti: true);
        var csv = "file_name,value\n" +
                  $"{s.FileNames[0]},\"[\"\"red\"\",\"\"blue\"\"]\"\n" +
                  $"{s.FileNames[1]},red\n" +
                  $"no-such-file.jpg,\"[\"\"red\"\"]\"\n";

        var status = await s.UploadAndWaitAsync(Utf8(csv), "values.csv");

        status.ShouldAccountFor(3);
        (await s.ValueOfAsync(0)).ShouldBe("[\"red\",\"blue\"]");
        var errors = SampleErrors(status);
        errors[0]["error_code"]!.GetValue<string>().ShouldBe("wrong_type");
        errors[1]["error_code"]!.GetValue<string>().ShouldBe("media_not_found");
        errors[1]["reason"]!.GetValue<string>().ShouldContain("no-such-file.jpg");
    }

    [Fact]
    public async Task A_CSV_without_the_needed_columns_fails_naming_the_columns_it_has()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 1);

        var status = await s.UploadAndWaitAsync(Utf8($"id,val\n{s.MediaIds[0]},x\n"), "values.csv");

        status.Status().ShouldBe("FAILED");
        var error = FileError(status);
        error["error_code"]!.GetValue<string>().ShouldBe("missing_csv_column");
        error["reason"]!.GetValue<string>().ShouldContain("'id', 'val'");
        status["failure_reason"]!.GetValue<string>().ShouldContain("media_id");
        status.ShouldAccountFor(0, fileError: true);
    }

    [Theory]
    // Spreadsheets in many locales save "CSV" with semicolons; a column named twice leaves which one to read to chance.
    [InlineData("media_id;value\n{0};1\n", "The header looks separated by ';': separate the columns with commas.")]
    [InlineData("media_id\tvalue\n{0}\t1\n", "The header looks separated by tabs: separate the columns with commas.")]
    [InlineData("media_id,value,Value\n{0},1,2\n", "The CSV header names value 2 times (columns 2, 3)")]
    public async Task A_CSV_header_with_another_separator_or_a_column_named_twice_fails_saying_so(string csv, string reason)
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 1);

        var status = await s.UploadAndWaitAsync(Utf8(string.Format(System.Globalization.CultureInfo.InvariantCulture, csv, s.MediaIds[0])), "values.csv");

        status.Status().ShouldBe("FAILED");
        var error = FileError(status);
        error["error_code"]!.GetValue<string>().ShouldBe("missing_csv_column");
        error["reason"]!.GetValue<string>().ShouldContain(reason);
        status.ShouldAccountFor(0, fileError: true);
    }

    [Fact]
    public async Task NDJSON_rows_are_stored_and_row_errors_carry_their_line()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3);
        var ndjson = Ndjson(new { media_id = s.MediaIds[0], value = "a" }, new { media_id = s.MediaIds[1], value = 5 }) +
                     "\n" + Ndjson(new { file_name = s.FileNames[2], value = "c" });

        var status = await s.UploadAndWaitAsync(Utf8(ndjson), "values.jsonl");

        status["upload_format"]!.GetValue<string>().ShouldBe("ndjson");
        status.ShouldAccountFor(3);
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
        (await s.ValueOfAsync(2)).ShouldBe("\"c\"");
        var error = SampleErrors(status).Single();
        (error["row_index"]!.GetValue<long>(), error["error_code"]!.GetValue<string>(), error["line"]!.GetValue<long>()).ShouldBe((1L, "wrong_type", 2L));
    }

    [Fact]
    public async Task A_gzip_encoded_raw_body_is_decompressed()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 2);
        var json = Utf8(System.Text.Json.JsonSerializer.Serialize(s.MediaIds.Select(m => new { media_id = m, value = "v" })));
        var body = new ByteArrayContent(Gzip(json));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        body.Headers.ContentEncoding.Add("gzip");

        var status = await s.Api.UploadAndWaitAsync(s.Dataset, s.Api.UploadBodyAsync(s.Dataset, s.Task, body));

        status.Status().ShouldBe("COMPLETED");
        status["upload_compression"]!.GetValue<string>().ShouldBe("gzip");
        status["upload_format"]!.GetValue<string>().ShouldBe("json");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
    }

    [Fact]
    public async Task A_gzip_encoded_multipart_form_is_decompressed_before_its_parts_are_read()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 1);
        var part = new ByteArrayContent(Utf8($"media_id,value\n{s.MediaIds[0]},a\n"));
        var form = new MultipartFormDataContent { { part, "file", "values.csv" } };
        var body = new ByteArrayContent(Gzip(await form.ReadAsByteArrayAsync()));
        body.Headers.ContentType = form.Headers.ContentType;
        body.Headers.ContentEncoding.Add("gzip");

        var status = await s.Api.UploadAndWaitAsync(s.Dataset, s.Api.UploadBodyAsync(s.Dataset, s.Task, body));

        status.Status().ShouldBe("COMPLETED");
        status["upload_format"]!.GetValue<string>().ShouldBe("csv");
        status["upload_compression"].ShouldBeNull();
    }

    [Fact]
    public async Task An_encoding_other_than_gzip_answers_415()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 1);
        var body = new ByteArrayContent(Utf8("[]"));
        body.Headers.ContentEncoding.Add("br");

        var response = await s.Api.UploadBodyAsync(s.Dataset, s.Task, body);

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.UnsupportedMediaType);
        problem["detail"]!.GetValue<string>().ShouldContain("gzip");
    }

    [Fact]
    public async Task A_gz_file_takes_its_format_from_the_name_inside_the_gz_extension()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 2);
        var csv = $"media_id,value\n{s.MediaIds[0]},a\n{s.MediaIds[1]},b\n";

        var status = await s.UploadAndWaitAsync(Gzip(Utf8(csv)), "values.csv.gz", "application/gzip");

        status.Status().ShouldBe("COMPLETED");
        status["upload_format"]!.GetValue<string>().ShouldBe("csv");
        status["upload_compression"]!.GetValue<string>().ShouldBe("gzip");
        (await s.ValueOfAsync(1)).ShouldBe("\"b\"");
    }

    [Theory]
    // Windows tools (Notepad, PowerShell, Excel's "CSV UTF-8") open UTF-8 files with a byte-order mark. A JSON or NDJSON
    // file with one failed whole ("'0xEF' is an invalid start of a value"), and a raw body with one was taken for CSV.
    [InlineData("values.json")]
    [InlineData("values.ndjson")]
    [InlineData(null)]
    public async Task A_JSON_or_NDJSON_file_opening_with_a_byte_order_mark_is_read_as_without_it(string? fileName)
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 2);
        var rows = new object[] { new { media_id = s.MediaIds[0], value = "a" }, new { media_id = s.MediaIds[1], value = 5 } };
        var text = fileName == "values.ndjson" ? Ndjson(rows) : System.Text.Json.JsonSerializer.Serialize(rows);
        var file = Utf8("\uFEFF" + text);
        var body = new ByteArrayContent(file);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        var status = fileName is null
            ? await s.Api.UploadAndWaitAsync(s.Dataset, s.Api.UploadBodyAsync(s.Dataset, s.Task, body))
            : await s.UploadAndWaitAsync(file, fileName);

        status["upload_format"]!.GetValue<string>().ShouldBe(fileName == "values.ndjson" ? "ndjson" : "json");
        status.Status().ShouldBe("COMPLETED_WITH_ERRORS", status.ToJsonString());
        status["inserted_rows"]!.GetValue<long>().ShouldBe(1);
        (await s.ValueOfAsync(0)).ShouldBe("\"a\"");
        var error = SampleErrors(status).Single();
        (error["row_index"]!.GetValue<long>(), error["error_code"]!.GetValue<string>(), error["line"]!.GetValue<long>())
            .ShouldBe((1L, "wrong_type", fileName == "values.ndjson" ? 2L : 1L));
    }

    [Fact]
    public async Task Gzip_and_format_are_recognised_from_the_bytes_when_nothing_names_them()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 2);
        var ndjson = Ndjson(new { media_id = s.MediaIds[0], value = "a" }, new { media_id = s.MediaIds[1], value = "b" });
        var body = new ByteArrayContent(Gzip(Utf8(ndjson)));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        var status = await s.Api.UploadAndWaitAsync(s.Dataset, s.Api.UploadBodyAsync(s.Dataset, s.Task, body));

        status.Status().ShouldBe("COMPLETED");
        status["upload_format"]!.GetValue<string>().ShouldBe("ndjson");
        status["upload_compression"]!.GetValue<string>().ShouldBe("gzip");
    }

    [Fact]
    public async Task The_format_parameter_overrides_the_file_name()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 1);
        var ndjson = Ndjson(new { media_id = s.MediaIds[0], value = "a" });

        var status = await s.UploadAndWaitAsync(Utf8(ndjson), "values.json", "application/json", "?format=ndjson");

        status.Status().ShouldBe("COMPLETED");
        status["upload_format"]!.GetValue<string>().ShouldBe("ndjson");
    }

    [Fact]
    public async Task An_unknown_format_parameter_answers_400_listing_the_formats()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 1);

        var response = await s.UploadAsync(Utf8("[]"), "values.json", query: "?format=xml");

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["detail"]!.GetValue<string>().ShouldContain("json, ndjson, csv");
        (await s.Api.StatusAsync(s.Dataset, s.Task)).Status().ShouldBe("INIT");
    }

    [Fact]
    public async Task Rows_naming_items_by_file_name_store_known_names_and_report_unknown_and_repeated_ones()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 2);
        object[] rows =
        [
            new { file_name = s.FileNames[0], value = "first" },
            new { file_name = "missing.jpg", value = "lost" },
            new { media_id = s.MediaIds[1], value = "second" },
            new { file_name = s.FileNames[1], value = "again" },
        ];

        var status = await s.UploadAndWaitAsync(Utf8(System.Text.Json.JsonSerializer.Serialize(rows)), "values.json");

        status.ShouldAccountFor(4);
        (await s.ValueOfAsync(0)).ShouldBe("\"first\"");
        (await s.ValueOfAsync(1)).ShouldBe("\"second\"");
        var errors = SampleErrors(status);
        errors.Select(e => (e["row_index"]!.GetValue<long>(), e["error_code"]!.GetValue<string>()))
            .ShouldBe([(1L, "media_not_found"), (3L, "duplicate_media_id")]);
        errors[0]["media_id"]!.GetValue<string>().ShouldBe("missing.jpg");
        errors[0]["reason"]!.GetValue<string>().ShouldContain("\"missing.jpg\"");
        errors[1]["reason"]!.GetValue<string>().ShouldContain("row 2");
    }
}
