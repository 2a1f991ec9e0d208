using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Features.Datasets;

[Collection(SharedAppCollection.Name)]
public sealed class DatasetsTests(SharedApp shared)
{
    [Fact]
    public async Task Creating_a_dataset_answers_201_READY_and_it_is_listed()
    {
        var api = await shared.App.NewWorkspaceClientAsync();

        var created = await ApiClient.ReadAsync<JsonObject>(await api.Http.PostAsJsonAsync("/api/v1/datasets", new { name = "Street scenes" }), HttpStatusCode.Created);

        created["status"]!.GetValue<string>().ShouldBe("READY");
        created["name"]!.GetValue<string>().ShouldBe("Street scenes");
        var list = await ApiClient.ReadAsync<JsonObject>(await api.Http.GetAsync("/api/v1/datasets"), HttpStatusCode.OK);
        list["datasets"]!.AsArray().Single()!["dataset_id"]!.GetValue<Guid>().ShouldBe(created["dataset_id"]!.GetValue<Guid>());
    }

    [Fact]
    public async Task A_dataset_without_a_name_is_refused_with_400()
    {
        var api = await shared.App.NewWorkspaceClientAsync();

        (await api.Http.PostAsJsonAsync("/api/v1/datasets", new { name = "  " })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Media_registers_from_a_json_array_skipping_names_already_registered_and_reporting_bad_items()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        await api.RegisterMediaAsync(dataset, ["a.jpg"]);

        var response = await api.Http.PostAsync($"/api/v1/datasets/{dataset}/media", new StringContent("""
            [{"file_name": "a.jpg"}, {"file_name": "b.mp4", "file_path": "s3://bucket/b.mp4", "media_type": "video"},
             {"file_path": "no-name"}, {"file_name": "c.jpg", "media_type": "audio"}, 42]
            """, Encoding.UTF8, "application/json"));

        var body = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.OK);
        body["registered"]!.GetValue<long>().ShouldBe(1);
        body["already_registered"]!.GetValue<long>().ShouldBe(1);
        body["error_count"]!.GetValue<long>().ShouldBe(3);
        body["errors"]!.AsArray().Select(e => e!["index"]!.GetValue<long>()).ShouldBe([2L, 3L, 4L]);
        body["media_items"]!.AsArray().Single()!["file_name"]!.GetValue<string>().ShouldBe("b.mp4");
    }

    [Fact]
    public async Task A_datasets_media_count_follows_registrations_through_the_api_and_straight_into_the_table()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var other = await api.CreateDatasetAsync();
        await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg"]);
        await api.RegisterMediaAsync(dataset, ["b.jpg", "c.jpg"]); // b.jpg is registered already
        await api.RegisterMediaAsync(other, ["a.jpg"]);
        await using var db = await TestDatabase.OpenConnectionAsync();
        // Rows written straight into the table (an import, the benchmark's setup) count too; rolled back, they do not.
        const string addStraight = """
            INSERT INTO media_items (media_id, workspace_id, dataset_id, file_name, media_type)
            SELECT gen_random_uuid(), workspace_id, dataset_id, 'straight-' || n || '-' || gen_random_uuid(), 'image'
            FROM datasets, generate_series(1, 500) n WHERE dataset_id = ANY($1)
            """;
        await db.ExecuteAsync(addStraight, CancellationToken.None, new[] { dataset, other });
        await using (var tx = await db.BeginTransactionAsync())
        {
            await db.ExecuteAsync(addStraight, CancellationToken.None, new[] { dataset });
            await tx.RollbackAsync();
        }
        await db.ExecuteAsync("DELETE FROM media_items WHERE dataset_id = $1 AND file_name LIKE 'straight-1%'", CancellationToken.None, other);

        foreach (var (id, expected) in new[] { (dataset, 503L), (other, 1L + 500 - 111) })
        {
            (await db.ScalarAsync<long>("SELECT dataset_item_count($1)", CancellationToken.None, id)).ShouldBe(expected);
            (await db.ScalarAsync<long>("SELECT count(*) FROM media_items WHERE dataset_id = $1", CancellationToken.None, id)).ShouldBe(expected);
            var shown = await ApiClient.ReadAsync<JsonObject>(await api.Http.GetAsync($"/api/v1/datasets/{id}"), HttpStatusCode.OK);
            shown["media_count"]!.GetValue<long>().ShouldBe(expected);
        }
    }

    [Fact]
    public async Task Registrations_into_one_dataset_do_not_wait_for_each_other_and_their_count_rows_are_merged()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        await using var db = await TestDatabase.OpenConnectionAsync();
        // A registration still running (its transaction open) holds no lock the next one needs.
        await using (var running = await db.BeginTransactionAsync())
        {
            await db.ExecuteAsync("""
                INSERT INTO media_items (media_id, workspace_id, dataset_id, file_name, media_type)
                SELECT gen_random_uuid(), workspace_id, dataset_id, 'running-' || n, 'image' FROM datasets, generate_series(1, 5) n
                WHERE dataset_id = $1
                """, CancellationToken.None, dataset);
            await api.RegisterMediaAsync(dataset, ["alongside.jpg"]).WaitAsync(TimeSpan.FromSeconds(20));
            await running.CommitAsync();
        }
        // Each registration adds a row to the count; past 32 rows the next registration merges them into one.
        for (var i = 0; i < 40; i++)
        {
            await api.RegisterMediaAsync(dataset, [$"one-of-many-{i}.jpg"]);
        }

        (await db.ScalarAsync<long>("SELECT dataset_item_count($1)", CancellationToken.None, dataset)).ShouldBe(46);
        (await db.ScalarAsync<long>("SELECT count(*) FROM dataset_item_counts WHERE dataset_id = $1", CancellationToken.None, dataset))
            .ShouldBeLessThanOrEqualTo(33);
    }

    [Fact]
    public async Task A_malformed_media_body_registers_nothing_and_says_where_it_broke()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await api.Http.PostAsync($"/api/v1/datasets/{dataset}/media",
            new StringContent("[{\"file_name\": \"a.jpg\"},\n {\"file_name\": \"b.jpg\" oops}]", Encoding.UTF8, "application/json"));

        var problem = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.BadRequest);
        problem["line"]!.GetValue<long>().ShouldBe(2);
        (await api.MediaIdsAsync(dataset)).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("application/json", "[{\"file_name\": \"a\\ud800.jpg\"}, {\"file_name\": \"b.jpg\"}]")]
    [InlineData("application/x-ndjson", "{\"file_name\": \"a\\udc00.jpg\"}\n{\"file_name\": \"b.jpg\"}\n")]
    public async Task An_item_whose_name_escapes_half_a_surrogate_pair_fails_alone_and_the_others_register(string contentType, string body)
    {
        // Valid JSON, but no character: it once answered 500 and registered nothing.
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();

        var response = await api.Http.PostAsync($"/api/v1/datasets/{dataset}/media", new StringContent(body, Encoding.UTF8, contentType));

        var answer = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.OK);
        answer["registered"]!.GetValue<long>().ShouldBe(1);
        var error = answer["errors"]!.AsArray().Single()!;
        error["index"]!.GetValue<long>().ShouldBe(0);
        error["reason"]!.GetValue<string>().ShouldStartWith("file_name escapes half of a UTF-16 surrogate pair");
        (await api.MediaIdsAsync(dataset)).Keys.ShouldBe(["b.jpg"]);
    }

    [Fact]
    public async Task The_export_has_visual_layer_shape_with_each_items_metadata()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync("export-me");
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg"]);
        await api.IngestAsync(dataset, "score", "float", [new { media_id = media[0], value = 0.5 }]);
        await api.IngestAsync(dataset, "tags", "enum", [new { media_id = media[0], value = new[] { "x", "y" } }], ["x", "y"], isMulti: true);

        var export = await ApiClient.ReadAsync<JsonObject>(await api.Http.GetAsync($"/api/v1/datasets/{dataset}/export"), HttpStatusCode.OK);

        export["info"]!["total_media_items"]!.GetValue<long>().ShouldBe(2);
        export["info"]!["dataset_name"]!.GetValue<string>().ShouldBe("export-me");
        var items = export["media_items"]!.AsArray();
        items.Count.ShouldBe(2);
        var a = items.Single(i => i!["file_name"]!.GetValue<string>() == "a.jpg")!;
        a["media_id"]!.GetValue<Guid>().ShouldBe(media[0]);
        a["media_type"]!.GetValue<string>().ShouldBe("image");
        var metadata = a["metadata_items"]!.AsArray().Select(m => m!["properties"]!).ToDictionary(p => p["field_name"]!.GetValue<string>());
        metadata["score"]["value"]!.GetValue<double>().ShouldBe(0.5);
        metadata["tags"]["value"]!.AsArray().Select(v => v!.GetValue<string>()).ShouldBe(["x", "y"]);
        items.Single(i => i!["file_name"]!.GetValue<string>() == "b.jpg")!["metadata_items"]!.AsArray().ShouldBeEmpty();
    }
}
