using System.Text.Json.Nodes;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Ingestion.Tests.Features.Validation;

/// <summary>
/// A field's first upload checks its rows against the dataset's item ids, which the next field's first upload into the
/// same dataset reuses instead of reading them again, but only while no item was added or removed since they were read.
/// </summary>
public sealed class KeptItemIdsTests
{
    [Fact]
    public async Task The_next_fields_first_upload_reuses_the_item_ids_only_while_no_item_was_added_or_removed_since_they_were_read()
    {
        // A database and service of its own: another node on the same database could run a task with ids kept by it.
        var connectionString = await TestDatabase.IsolatedConnectionStringAsync();
        await using var app = await IngestionApp.StartAsync(connectionString: connectionString);
        var kept = app.Services.GetRequiredService<DatasetItemKeyCache>();
        var api = await app.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var items = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, 200).Select(i => $"frame {i:D3}.jpg"));
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var db = await source.OpenConnectionAsync();

        // A transaction still open while the first load reads the dataset's items registers two items (one named in
        // the file) and removes two: once it commits, the dataset has as many items as before, other ones.
        var pending = Guid.NewGuid();
        await using var registering = await source.OpenConnectionAsync();
        await using var registration = await registering.BeginTransactionAsync();
        await registering.ExecuteAsync("""
            INSERT INTO media_items (media_id, workspace_id, dataset_id, file_name, media_type)
            SELECT id, workspace_id, dataset_id, 'pending ' || id || '.jpg', 'image' FROM datasets, unnest($2::uuid[]) AS id WHERE dataset_id = $1
            """, CancellationToken.None, dataset, new[] { pending, Guid.NewGuid() });
        await registering.ExecuteAsync("DELETE FROM media_items WHERE media_id = ANY($1)", CancellationToken.None, new[] { items[198], items[199] });
        var later = Guid.NewGuid();
        object[] Rows() => [.. items.Select((id, i) => (object)new { media_id = id, value = i * 0.5 }),
            new { media_id = pending, value = 1.5 }, new { media_id = later, value = 2.5 }];

        var first = await IngestFieldAsync(api, dataset, "first", Rows());
        first.ShouldBe((200L, 2L), "the open transaction's item and the unregistered one are unknown, its removed ones still known");
        kept.Reuses.ShouldBe(0);

        // Nothing changed: the second field's load takes the first one's ids, with the same verdicts.
        (await IngestFieldAsync(api, dataset, "second", Rows())).ShouldBe((200L, 2L));
        kept.Reuses.ShouldBe(1);

        // The open transaction commits. The count is as it was, but the kept ids' snapshot did not see the change.
        await registration.CommitAsync();
        (await IngestFieldAsync(api, dataset, "third", Rows())).ShouldBe((199L, 3L), "the added item is known, the removed two unknown");
        kept.Reuses.ShouldBe(1);

        // An item registered through the API after the ids were read.
        await api.RegisterMediaAsync(dataset, ["later.jpg"]);
        later = await db.ScalarAsync<Guid>("SELECT media_id FROM media_items WHERE dataset_id = $1 AND file_name = 'later.jpg'", CancellationToken.None, dataset);
        (await IngestFieldAsync(api, dataset, "fourth", Rows())).ShouldBe((200L, 2L), "the item registered since is known");
        kept.Reuses.ShouldBe(1);

        // An item removed (no endpoint removes one; a statement that does is counted all the same).
        await db.ExecuteAsync("DELETE FROM media_items WHERE media_id = $1", CancellationToken.None, pending);
        (await IngestFieldAsync(api, dataset, "fifth", Rows())).ShouldBe((199L, 3L), "the removed item is unknown");
        kept.Reuses.ShouldBe(1);

        // And with nothing changed again, the ids read last are reused.
        (await IngestFieldAsync(api, dataset, "sixth", Rows())).ShouldBe((199L, 3L));
        kept.Reuses.ShouldBe(2);

        // Another dataset's first upload reads its own items.
        var other = await api.CreateDatasetAsync();
        var otherItems = await api.RegisterMediaAsync(other, ["x.jpg", "y.jpg"]);
        (await IngestFieldAsync(api, other, "first", [.. items.Take(3).Concat(otherItems).Select(id => (object)new { media_id = id, value = 1.0 })]))
            .ShouldBe((2L, 3L), "the first dataset's items are unknown in the second");
        kept.Reuses.ShouldBe(2);
        // One dataset's ids are kept at a time: back in the first dataset, they are read again.
        (await IngestFieldAsync(api, dataset, "seventh", Rows())).ShouldBe((199L, 3L));
        kept.Reuses.ShouldBe(2);
    }

    private static async Task<(long Stored, long Refused)> IngestFieldAsync(ApiClient api, Guid dataset, string field, object[] rows)
    {
        var (_, status) = await api.IngestAsync(dataset, field, "float", rows);
        return (status["inserted_rows"]!.GetValue<long>(), status["error_count"]!.GetValue<long>());
    }
}
