using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Ingestion.Tests.Features.Uploads;

/// <summary>A finished task's stored upload is dropped after its final status commits; the sweeper drops any a dead node left.</summary>
[Collection(SharedAppCollection.Name)]
public sealed class StoredUploadCleanupTests(SharedApp shared)
{
    [Fact]
    public async Task The_sweeper_drops_the_stored_upload_a_finished_task_still_holds()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var items = await api.RegisterMediaAsync(dataset, ["a.jpg"]);
        var (taskId, status) = await api.IngestAsync(dataset, "score", "float", [new { media_id = items[0], value = 1.5 }]);
        status["status"]!.GetValue<string>().ShouldBe("COMPLETED");
        await using var source = NpgsqlDataSource.Create(await TestDatabase.ConnectionStringAsync());
        await using var db = await source.OpenConnectionAsync();
        // What a node that died between the final commit and dropping the upload leaves behind.
        await db.ExecuteAsync("""
            INSERT INTO upload_chunks (task_id, chunk_no, data, workspace_id)
            SELECT task_id, 99, '\x00'::bytea, workspace_id FROM tasks WHERE task_id = $1
            """, CancellationToken.None, taskId);

        await shared.App.Services.GetServices<IHostedService>().OfType<StrandedTaskSweeper>().Single().SweepAsync(CancellationToken.None);

        (await db.ScalarAsync<long>("SELECT count(*) FROM upload_chunks WHERE task_id = $1", CancellationToken.None, taskId)).ShouldBe(0);
    }
}
