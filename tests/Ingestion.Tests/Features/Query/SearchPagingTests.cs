using System.Net;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Query;

[Collection(SharedAppCollection.Name)]
public sealed class SearchPagingTests(SharedApp shared)
{
    [Fact]
    public async Task Paging_visits_every_match_once_in_media_id_order_while_another_field_is_being_ingested()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var ids = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, 300).Select(i => $"m{i}.jpg"));
        await api.IngestAsync(dataset, "score", "float", ids.Select((id, i) => (object)new { media_id = id, value = i % 10 }));
        var expected = ids.Where((_, i) => i % 10 >= 3).Order().ToList();
        var otherTask = await api.DeclareFieldAsync(dataset, "note", "string");

        var upload = api.UploadRowsAsync(dataset, otherTask, ids.Select(id => (object)new { media_id = id, value = $"note {id}" }));
        var seen = new List<Guid>();
        var pages = 0;
        string? cursor = null;
        do
        {
            var page = await ApiClient.ReadAsync<JsonObject>(await api.SearchAsync(dataset,
                new { query = "score >= 3", limit = 17, cursor, include_total = true }), HttpStatusCode.OK);
            page["total"]!.GetValue<long>().ShouldBe(expected.Count);
            seen.AddRange(page["media_items"]!.AsArray().Select(i => i!["media_id"]!.GetValue<Guid>()));
            cursor = page["next_cursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null);
        (await upload).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await api.WaitForTaskAsync(dataset, otherTask);

        seen.ShouldBe(expected);
        pages.ShouldBe((expected.Count + 16) / 17);
    }

    [Fact]
    public async Task Items_come_with_their_metadata_unless_left_out()
    {
        var catalog = await Catalog.GetAsync(shared);

        var with = await ApiClient.ReadAsync<JsonObject>(await catalog.Api.Http.GetAsync(
            $"/api/v1/datasets/{catalog.DatasetId}/media?q={Uri.EscapeDataString("temperature = 20")}"), HttpStatusCode.OK);
        var without = await ApiClient.ReadAsync<JsonObject>(await catalog.Api.SearchAsync(catalog.DatasetId,
            new { query = "temperature = 20", include_metadata = false }), HttpStatusCode.OK);

        var item = with["media_items"]!.AsArray().Single()!;
        item["file_name"]!.GetValue<string>().ShouldBe("img2.jpg");
        var metadata = item["metadata_items"]!.AsArray().Select(m => m!["properties"]!).ToDictionary(p => p["field_name"]!.GetValue<string>(), p => p["value"]!.ToJsonString());
        metadata["temperature"].ShouldBe("20");
        metadata["colors"].ShouldBe("""["red","green","blue"]""");
        metadata["reviewed_at"].ShouldBe("\"2023-12-31T23:59:59Z\"");
        with["next_cursor"].ShouldBeNull();
        with["total"].ShouldBeNull();
        without["media_items"]!.AsArray().Single()!["metadata_items"].ShouldBeNull();
    }

    [Fact]
    public async Task The_export_with_q_holds_only_the_matching_items()
    {
        var catalog = await Catalog.GetAsync(shared);

        var export = await ApiClient.ReadAsync<JsonObject>(await catalog.Api.Http.GetAsync(
            $"/api/v1/datasets/{catalog.DatasetId}/export?q={Uri.EscapeDataString("lighting = \"Sunny\"")}"), HttpStatusCode.OK);

        export["info"]!["total_media_items"]!.GetValue<long>().ShouldBe(2);
        export["media_items"]!.AsArray().Select(i => i!["file_name"]!.GetValue<string>()).ShouldBe(["img0.jpg", "img3.jpg"], ignoreOrder: true);
    }

    [Fact]
    public async Task Another_workspace_s_dataset_answers_404_on_search_list_and_filtered_export()
    {
        var catalog = await Catalog.GetAsync(shared);
        var stranger = await shared.App.NewWorkspaceClientAsync();
        var q = Uri.EscapeDataString("temperature > 0");

        (await stranger.SearchAsync(catalog.DatasetId, new { query = "temperature > 0" })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await stranger.Http.GetAsync($"/api/v1/datasets/{catalog.DatasetId}/media?q={q}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await stranger.Http.GetAsync($"/api/v1/datasets/{catalog.DatasetId}/export?q={q}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
