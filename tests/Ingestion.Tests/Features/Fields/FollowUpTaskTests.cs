using System.Net;
using System.Text.Json.Nodes;
using Ingestion.Api.Features.Validation;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Fields;

[Collection(SharedAppCollection.Name)]
public sealed class FollowUpTaskTests(SharedApp shared)
{
    [Fact]
    public async Task A_follow_up_task_stores_values_for_new_items_and_rejects_items_that_have_one()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var items = await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]);
        var (declaring, _) = await api.IngestAsync(dataset, "temperature", "float", items.Take(3).Select(i => (object)new { media_id = i, value = 1.0 }));

        var response = await api.FollowUpAsync(dataset, "TEMPERATURE");
        var body = await ApiClient.ReadAsync<JsonObject>(response, HttpStatusCode.OK);
        body["status"]!.GetValue<string>().ShouldBe("INIT");
        body["field_name"]!.GetValue<string>().ShouldBe("temperature");
        body["field_type"]!.GetValue<string>().ShouldBe("float");
        var followUp = body["task_id"]!.GetValue<Guid>();
        followUp.ShouldNotBe(declaring);
        (await api.UploadRowsAsync(dataset, followUp, items.Skip(2).Select(i => (object)new { media_id = i, value = 2.0 })))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var status = await api.WaitForTaskAsync(dataset, followUp);

        status["status"]!.GetValue<string>().ShouldBe("COMPLETED_WITH_ERRORS");
        status["field_name"]!.GetValue<string>().ShouldBe("temperature");
        status["total_rows"]!.GetValue<long>().ShouldBe(3);
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
        status["error_count"]!.GetValue<long>().ShouldBe(1);
        var error = status["sample_errors"]!.AsArray().Single()!;
        error["row_index"]!.GetValue<long>().ShouldBe(0);
        error["error_code"]!.GetValue<string>().ShouldBe(RowErrorCodes.ValueAlreadySet);
        (await api.MediaValuesAsync(dataset, items[2])).Single()!["value"]!.GetValue<double>().ShouldBe(1.0);
        (await api.MediaValuesAsync(dataset, items[4])).Single()!["value"]!.GetValue<double>().ShouldBe(2.0);
    }

    [Fact]
    public async Task The_schema_keeps_listing_the_declaring_task_and_the_first_task_still_takes_one_upload()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var declaring = await api.DeclareFieldAsync(dataset, "label", "string");

        await api.FollowUpTaskAsync(dataset, "label");

        var schema = await ApiClient.ReadAsync<JsonObject>(await api.Http.GetAsync($"/api/v1/datasets/{dataset}/custom_metadata/schema"), HttpStatusCode.OK);
        schema["fields"]!.AsArray().Single()!["task_id"]!.GetValue<Guid>().ShouldBe(declaring);
        (await api.StatusAsync(dataset, declaring))["status"]!.GetValue<string>().ShouldBe("INIT");
    }

    [Fact]
    public async Task A_follow_up_task_for_an_undeclared_field_or_another_workspace_s_dataset_answers_404()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        await api.DeclareFieldAsync(dataset, "label", "string");
        var stranger = await shared.App.NewWorkspaceClientAsync();

        var undeclared = await api.FollowUpAsync(dataset, "colour");
        var foreign = await stranger.FollowUpAsync(dataset, "label");

        (await ApiClient.ReadAsync<JsonObject>(undeclared, HttpStatusCode.NotFound))["detail"]!.GetValue<string>().ShouldContain("colour");
        foreign.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
