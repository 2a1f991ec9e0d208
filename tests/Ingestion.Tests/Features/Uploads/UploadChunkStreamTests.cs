using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Features.Uploads;

/// <summary>
/// The stored upload reads back byte for byte across its chunks, and the chunk fetched ahead of the reader never
/// outlives the stream on the connection it shares with the job.
/// </summary>
[Collection(SharedAppCollection.Name)]
public sealed class UploadChunkStreamTests(SharedApp shared)
{
    private const int Chunks = 4;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_stored_upload_reads_back_byte_for_byte_across_its_chunks(bool fetchAhead)
    {
        var (taskId, stored) = await StoredUploadAsync();
        await using var conn = await TestDatabase.OpenConnectionAsync();

        var read = new MemoryStream();
        await using (var stream = new UploadChunkStream(conn, taskId, fetchAhead))
        {
            // Small, odd-sized reads, so reads cross from chunk to chunk mid-read.
            var buffer = new byte[40_009];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                read.Write(buffer, 0, n);
            }
        }

        read.ToArray().ShouldBe(stored);
    }

    [Fact]
    public async Task A_stream_left_mid_file_gives_its_connection_back_free_for_the_next_command()
    {
        var (taskId, _) = await StoredUploadAsync();
        await using var conn = await TestDatabase.OpenConnectionAsync();

        await using (var stream = new UploadChunkStream(conn, taskId, fetchAhead: true))
        {
            // The first read fetches chunk 0 and starts fetching chunk 1, which is still running when the stream goes.
            (await stream.ReadAsync(new byte[10])).ShouldBe(10);
        }

        (await conn.ScalarAsync<int>("SELECT 1", CancellationToken.None)).ShouldBe(1);
    }

    /// <summary>A task whose stored upload is <see cref="Chunks"/> full chunks of random bytes, as the upload endpoint stores them.</summary>
    private async Task<(Guid TaskId, byte[] Stored)> StoredUploadAsync()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var taskId = await api.DeclareFieldAsync(dataset, "note", "string");
        var stored = new byte[Chunks * UploadsApi.ChunkBytes];
        new Random(5).NextBytes(stored);
        await using var db = await TestDatabase.OpenConnectionAsync();
        for (var chunk = 0; chunk < Chunks; chunk++)
        {
            await db.ExecuteAsync("""
                INSERT INTO upload_chunks (task_id, chunk_no, data, workspace_id)
                SELECT task_id, $2, $3, workspace_id FROM tasks WHERE task_id = $1
                """, CancellationToken.None, taskId, chunk, stored.AsMemory(chunk * UploadsApi.ChunkBytes, UploadsApi.ChunkBytes).ToArray());
        }
        return (taskId, stored);
    }
}
