using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Ingestion.Tests.Features.Uploads;

/// <summary>
/// A finished task's stored upload is dropped after its final status commits, and a bulk load's spill folder when it
/// ends; the sweeper drops any that a dead node left.
/// </summary>
[Collection(SharedAppCollection.Name)]
public sealed class StoredUploadCleanupTests(SharedApp shared)
{
    [Fact]
    public async Task The_sweeper_drops_the_stored_upload_a_finished_task_still_holds()
    {
        var taskId = await FinishedTaskAsync();
        await using var db = await TestDatabase.OpenConnectionAsync();
        // What a node that died between the final commit and dropping the upload leaves behind.
        await db.ExecuteAsync("""
            INSERT INTO upload_chunks (task_id, chunk_no, data, workspace_id)
            SELECT task_id, 99, '\x00'::bytea, workspace_id FROM tasks WHERE task_id = $1
            """, CancellationToken.None, taskId);

        await SweepAsync();

        (await db.ScalarAsync<long>("SELECT count(*) FROM upload_chunks WHERE task_id = $1", CancellationToken.None, taskId)).ShouldBe(0);
    }

    [Fact]
    public async Task The_sweeper_removes_the_spill_folder_a_finished_task_left_and_no_other()
    {
        var finished = await FinishedTaskAsync();
        // What a node killed in a load's later passes leaves in its spill folder, and a folder of a task this database
        // does not know (another service's, on the same machine).
        var root = Path.GetTempPath();
        var left = SliceSpill.FolderOf(root, finished);
        var foreign = SliceSpill.FolderOf(root, Guid.NewGuid());
        foreach (var folder in new[] { left, foreign })
        {
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, "slice-1.rows"), "rows");
        }
        try
        {
            await SweepAsync();

            Directory.Exists(left).ShouldBeFalse();
            Directory.Exists(foreign).ShouldBeTrue();
        }
        finally
        {
            SliceSpill.Remove(foreign);
        }
    }

    /// <summary>A one-row upload, processed to COMPLETED.</summary>
    private async Task<Guid> FinishedTaskAsync()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var items = await api.RegisterMediaAsync(dataset, ["a.jpg"]);
        var (taskId, status) = await api.IngestAsync(dataset, "score", "float", [new { media_id = items[0], value = 1.5 }]);
        status["status"]!.GetValue<string>().ShouldBe("COMPLETED");
        return taskId;
    }

    private Task SweepAsync() =>
        shared.App.Services.GetServices<IHostedService>().OfType<StrandedTaskSweeper>().Single().SweepAsync(CancellationToken.None);
}
