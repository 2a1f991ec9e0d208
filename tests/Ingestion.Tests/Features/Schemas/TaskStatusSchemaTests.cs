using System.Net;
using Ingestion.Api.Features.Schemas;
using Ingestion.Tests.Harness;
using NJsonSchema;

namespace Ingestion.Tests.Features.Schemas;

[Collection(SharedAppCollection.Name)]
public sealed class TaskStatusSchemaTests(SharedApp shared)
{
    [Fact]
    public async Task Status_responses_before_and_after_an_upload_with_bad_rows_validate_against_the_status_schema()
    {
        var schema = await JsonSchema.FromJsonAsync(SchemaCatalog.Read("task-status.schema.json"));
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg", "c.jpg"]);
        var task = await api.DeclareFieldAsync(dataset, "temperature", "float");
        var statusPath = $"/api/v1/datasets/{dataset}/custom_metadata/tasks/{task}/status";

        var before = await api.Http.GetStringAsync(statusPath);
        (await api.UploadRowsAsync(dataset, task, [
            new { media_id = media[0], value = (object)21.5 },
            new { media_id = media[1], value = (object)"warm" },
            new { media_id = media[2], value = (object)"NaN" },
        ])).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var finished = await api.WaitForTaskAsync(dataset, task);
        var after = await api.Http.GetStringAsync(statusPath);

        schema.Validate(before).ShouldBeEmpty(before);
        finished["sample_errors"]!.AsArray().Count.ShouldBe(2);
        schema.Validate(after).ShouldBeEmpty(after);
    }
}
