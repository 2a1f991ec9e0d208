using System.Net;
using System.Text.Json.Nodes;
using Bogus;
using Ingestion.Api.Features.Validation;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Errors;

[Collection(SharedAppCollection.Name)]
public sealed class ErrorListTests(SharedApp shared)
{
    /// <summary>
    /// 20 items, one row each: every row whose index is 1 or 3 modulo 4 fails its type check; then 5 rows for
    /// unregistered items and 5 repeating items that already took a value. Twenty errors, five of each code.
    /// </summary>
    private static async Task<(ApiClient Api, Guid Dataset, Guid Task, long[] FailedRows)> UploadWithTwentyErrorsAsync(SharedApp shared)
    {
        var faker = new Faker { Random = new Randomizer(3) };
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var items = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, 20).Select(i => $"{i}-{faker.System.FileName("jpg")}"));
        var rows = new List<object>();
        for (var i = 0; i < 20; i++)
        {
            rows.Add(new { media_id = items[i], value = (i % 4) switch { 1 => "abc", 3 => (object)true, _ => faker.Random.Double(-100, 100) } });
        }
        rows.AddRange(Enumerable.Range(0, 5).Select(_ => new { media_id = faker.Random.Guid(), value = (object)1.5 }));
        rows.AddRange(new[] { 0, 2, 4, 6, 8 }.Select(i => new { media_id = items[i], value = (object)2.5 }));
        var (task, status) = await api.IngestAsync(dataset, "score", "float", rows);
        status["error_count"]!.GetValue<long>().ShouldBe(20);
        var failed = Enumerable.Range(0, 30).Where(i => i >= 20 || i % 4 is 1 or 3).Select(i => (long)i).ToArray();
        return (api, dataset, task, failed);
    }

    [Fact]
    public async Task Paging_through_the_error_list_returns_every_error_once_in_file_order()
    {
        var (api, dataset, task, failed) = await UploadWithTwentyErrorsAsync(shared);

        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await api.ErrorsAsync(dataset, task, "limit=3" + (cursor is null ? "" : $"&cursor={cursor}"));
            var errors = page["errors"]!.AsArray();
            errors.Count.ShouldBeLessThanOrEqualTo(3);
            seen.AddRange(errors.Select(e => e!["row_index"]!.GetValue<long>()));
            cursor = page["next_cursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null);

        seen.ShouldBe(failed);
        pages.ShouldBe(7);
    }

    [Fact]
    public async Task The_error_list_keeps_each_value_as_uploaded_with_its_code_and_reason()
    {
        var (api, dataset, task, _) = await UploadWithTwentyErrorsAsync(shared);

        var errors = (await api.ErrorsAsync(dataset, task, "limit=1000"))["errors"]!.AsArray();

        var invalid = errors.Single(e => e!["row_index"]!.GetValue<long>() == 1)!;
        invalid["error_code"]!.GetValue<string>().ShouldBe(RowErrorCodes.FloatInvalid);
        invalid["value"]!.GetValue<string>().ShouldBe("abc");
        invalid["reason"]!.GetValue<string>().ShouldContain("abc");
        invalid["is_file_error"]!.GetValue<bool>().ShouldBeFalse();
        errors.Single(e => e!["row_index"]!.GetValue<long>() == 3)!["value"]!.GetValue<string>().ShouldBe("true");
        errors.Single(e => e!["row_index"]!.GetValue<long>() == 25)!["error_code"]!.GetValue<string>().ShouldBe(RowErrorCodes.DuplicateMediaId);
    }

    [Fact]
    public async Task Filtering_by_error_code_lists_only_those_codes_while_the_summary_counts_every_code()
    {
        var (api, dataset, task, _) = await UploadWithTwentyErrorsAsync(shared);

        var page = await api.ErrorsAsync(dataset, task, "error_code=media_not_found&error_code=wrong_type");

        page["errors"]!.AsArray().Select(e => e!["row_index"]!.GetValue<long>()).ShouldBe([3, 7, 11, 15, 19, 20, 21, 22, 23, 24]);
        page["next_cursor"].ShouldBeNull();
        var summary = page["summary"]!;
        summary["total"]!.GetValue<long>().ShouldBe(20);
        summary["by_code"]!.AsObject().ToDictionary(c => c.Key, c => c.Value!.GetValue<long>()).ShouldBe(new Dictionary<string, long>
        {
            [RowErrorCodes.DuplicateMediaId] = 5,
            [RowErrorCodes.FloatInvalid] = 5,
            [RowErrorCodes.MediaNotFound] = 5,
            [RowErrorCodes.WrongType] = 5,
        }, ignoreOrder: true);
    }

    [Fact]
    public async Task The_task_status_links_to_the_full_error_list()
    {
        var (api, dataset, task, failed) = await UploadWithTwentyErrorsAsync(shared);

        var link = (await api.StatusAsync(dataset, task))["errors_url"]!.GetValue<string>();

        var page = await ApiClient.ReadAsync<JsonObject>(await api.Http.GetAsync(link + "?limit=1000"), HttpStatusCode.OK);
        page["errors"]!.AsArray().Count.ShouldBe(failed.Length);
    }

    [Fact]
    public async Task A_broken_file_lists_its_file_level_error_marked_after_the_rows_before_it()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var item = (await api.RegisterMediaAsync(dataset, ["a.jpg"]))[0];
        var task = await api.DeclareFieldAsync(dataset, "score", "float");
        (await api.UploadAsync(dataset, task, $$"""[{"media_id": "{{item}}", "value": "x"}, {"media_id": """)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await api.WaitForTaskAsync(dataset, task);

        var errors = (await api.ErrorsAsync(dataset, task))["errors"]!.AsArray();

        errors.Select(e => (e!["row_index"]!.GetValue<long>(), e["is_file_error"]!.GetValue<bool>())).ShouldBe([(0L, false), (1L, true)]);
        RowErrorCodes.FileLevel.ShouldContain(errors[1]!["error_code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("error_code=no_such_code", "no_such_code")]
    public async Task Bad_paging_or_filter_parameters_answer_400_naming_the_problem(string query, string named)
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var task = await api.DeclareFieldAsync(dataset, "score", "float");

        var response = await api.Http.GetAsync($"/api/v1/datasets/{dataset}/custom_metadata/tasks/{task}/errors?{query}");

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["detail"]!.GetValue<string>().ShouldContain(named);
    }

    [Fact]
    public async Task Another_workspace_cannot_see_a_task_s_errors()
    {
        var (_, dataset, task, _) = await UploadWithTwentyErrorsAsync(shared);
        var stranger = await shared.App.NewWorkspaceClientAsync();

        (await stranger.Http.GetAsync($"/api/v1/datasets/{dataset}/custom_metadata/tasks/{task}/errors")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await stranger.Http.GetAsync($"/api/v1/datasets/{dataset}/custom_metadata/tasks/{task}/errors.csv")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
