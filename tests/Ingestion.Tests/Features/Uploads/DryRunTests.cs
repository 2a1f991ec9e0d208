using System.Net;
using System.Text.Json.Nodes;
using Ingestion.Tests.Harness;
using static Ingestion.Tests.Features.Uploads.UploadFiles;

namespace Ingestion.Tests.Features.Uploads;

[Collection(SharedAppCollection.Name)]
public sealed class DryRunTests(SharedApp shared)
{
    private static string Csv(UploadScenario s) =>
        "media_id,value\n" +
        $"{s.MediaIds[0]},21.5\n" +
        $"{s.MediaIds[1]},warm\n" +
        "0190a6c8-6e1f-7cc1-9a1e-1b2f3c4d5e6f,3\n" +
        $"{s.MediaIds[2]},4\n" +
        $"{s.MediaIds[0]},5\n";

    [Fact]
    public async Task A_dry_run_reports_every_error_a_real_upload_would_and_stores_nothing()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3, "float");

        var accepted = await ApiClient.ReadAsync<JsonObject>(await s.UploadAsync(Utf8(Csv(s)), "values.csv", query: "?dry_run=true"),
            HttpStatusCode.Accepted);
        var dryRun = accepted["task_id"]!.GetValue<Guid>();
        var status = await s.Api.WaitForTaskAsync(s.Dataset, dryRun);

        dryRun.ShouldNotBe(s.Task);
        accepted["dry_run_of"]!.GetValue<Guid>().ShouldBe(s.Task);
        status["dry_run_of"]!.GetValue<Guid>().ShouldBe(s.Task);
        status.Status().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
        status.ShouldAccountFor(5);
        SampleErrors(status).Select(e => (e["row_index"]!.GetValue<long>(), e["error_code"]!.GetValue<string>()))
            .ShouldBe([(1L, "float_invalid"), (2L, "media_not_found"), (4L, "duplicate_media_id")]);
        foreach (var item in s.MediaIds)
        {
            (await s.Api.MediaValuesAsync(s.Dataset, item)).ShouldBeEmpty();
        }
        (await s.Api.StatusAsync(s.Dataset, s.Task)).Status().ShouldBe("INIT");
    }

    [Fact]
    public async Task After_a_dry_run_the_real_upload_stores_the_values_with_the_same_verdicts()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3, "float");
        var file = Utf8(Csv(s));
        var dryRun = await s.UploadAndWaitAsync(file, "values.csv", query: "?dry_run=true");

        var real = await s.UploadAndWaitAsync(file, "values.csv");

        real["task_id"]!.GetValue<Guid>().ShouldBe(s.Task);
        real["dry_run_of"].ShouldBeNull();
        real.Status().ShouldBe(dryRun.Status());
        real["inserted_rows"]!.GetValue<long>().ShouldBe(dryRun["inserted_rows"]!.GetValue<long>());
        SampleErrors(real).Select(e => e["reason"]!.GetValue<string>()).ShouldBe(SampleErrors(dryRun).Select(e => e["reason"]!.GetValue<string>()));
        (await s.ValueOfAsync(0)).ShouldBe("21.5");
        (await s.ValueOfAsync(2)).ShouldBe("4");
    }

    [Fact]
    public async Task A_dry_run_needs_a_task_still_waiting_for_its_upload()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3, "float");
        await s.UploadAndWaitAsync(Utf8(Csv(s)), "values.csv");

        var response = await s.UploadAsync(Utf8(Csv(s)), "values.csv", query: "?dry_run=true");

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_dry_run_of_another_workspaces_task_answers_404()
    {
        var s = await UploadScenario.CreateAsync(await shared.App.NewWorkspaceClientAsync(), 3, "float");
        var stranger = await shared.App.NewWorkspaceClientAsync();

        var response = await stranger.UploadFileAsync(s.Dataset, s.Task, Utf8(Csv(s)), "values.csv", query: "?dry_run=true");

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await s.Api.StatusAsync(s.Dataset, s.Task)).Status().ShouldBe("INIT");
    }
}
