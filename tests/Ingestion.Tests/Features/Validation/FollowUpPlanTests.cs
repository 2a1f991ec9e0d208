using System.Net;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Features.Validation;

/// <summary>
/// Uploads look each row's item up by key, whatever PostgreSQL's statistics say. Statistics gathered before a dataset's
/// items were registered expect about one item of it (until autovacuum analyzes media_items again, which a dataset small
/// beside the table never triggers); a lookup that names the dataset then looks as cheap by the dataset alone, and the
/// planner read the dataset's items for every staged row: a minute per batch of a follow-up into 200,000 items.
/// </summary>
public sealed class FollowUpPlanTests
{
    [Fact]
    public async Task Uploads_into_a_dataset_registered_after_the_statistics_probe_each_item_by_key()
    {
        var database = await TestDatabase.IsolatedConnectionStringAsync();
        await using var app = await IngestionApp.StartAsync(connectionString: database);
        await using var source = NpgsqlDataSource.Create(database);
        var api = await app.NewWorkspaceClientAsync();

        // Statistics that know only an earlier dataset, kept so: autovacuum would refresh them after enough new items.
        var earlier = await api.CreateDatasetAsync();
        await api.RegisterMediaAsync(earlier, Enumerable.Range(0, 3000).Select(i => $"earlier-{i}.jpg"));
        await using (var conn = await source.OpenConnectionAsync())
        {
            await conn.ExecuteAsync("ALTER TABLE media_items SET (autovacuum_enabled = false); ANALYZE media_items", CancellationToken.None);
        }
        var dataset = await api.CreateDatasetAsync();
        var names = Enumerable.Range(0, 3000).Select(i => $"frame-{i}.jpg").ToList();
        var items = await api.RegisterMediaAsync(dataset, names);
        var (_, first) = await api.IngestAsync(dataset, "score", "float", [new { media_id = items[0], value = 1.0 }]);
        first["inserted_rows"]!.GetValue<long>().ShouldBe(1);

        // The follow-up goes through SQL: half its rows name their item by id, half by file name; one repeats the
        // first upload's item and one names no registered item.
        var rows = Enumerable.Range(1, 2999)
            .Select(i => i < 1500 ? (object)new { media_id = items[i], value = i + 0.5 } : new { file_name = names[i], value = i + 0.5 })
            .Append(new { media_id = items[0], value = 2.0 })
            .Append(new { media_id = Guid.NewGuid(), value = 3.0 })
            .ToList();
        var followUp = await api.FollowUpTaskAsync(dataset, "score");
        (await api.UploadRowsAsync(dataset, followUp, rows)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var status = await api.WaitForTaskAsync(dataset, followUp);
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2999);
        status["error_count"]!.GetValue<long>().ShouldBe(2);

        // The classify statement's plan for a batch of this dataset's items, under the same statistics.
        await using var db = await source.OpenConnectionAsync();
        await using var tx = await db.BeginTransactionAsync();
        await db.ExecuteAsync(ValueBatch.CreateStagingSql, CancellationToken.None);
        await db.ExecuteAsync("""
            INSERT INTO upload_staging (row_index, line, media_id, value_float)
            SELECT row_number() OVER (), row_number() OVER (), media_id, 1.5 FROM media_items WHERE dataset_id = $1
            """, CancellationToken.None, dataset);
        await db.ExecuteAsync("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off", CancellationToken.None);
        var fieldId = await db.ScalarAsync<Guid>("SELECT field_id FROM fields WHERE dataset_id = $1 AND field_name = 'score'", CancellationToken.None, dataset);
        var plan = await db.ExplainAsync(ValueBatch.ClassifySql(FieldValueTables.TableName(fieldId)), Guid.NewGuid(), dataset, fieldId, Guid.NewGuid());
        var text = string.Join('\n', plan);
        var lookup = plan.FindIndex(l => l.Contains(" on media_items m "));
        lookup.ShouldBeGreaterThanOrEqualTo(0, text);
        plan[lookup + 1].ShouldContain("Index Cond", customMessage: text);
        plan[lookup + 1].ShouldContain("media_id = s.media_id", customMessage: text);
        text.ShouldNotContain("Materialize", customMessage: text);

        // A first upload (bulk-loaded) naming items by file name finds every item, and so does a follow-up (SQL).
        var (_, byName) = await api.IngestAsync(dataset, "label", "string", names.Take(1500).Select(n => new { file_name = n, value = n }));
        byName["inserted_rows"]!.GetValue<long>().ShouldBe(1500);
        var named = await api.FollowUpTaskAsync(dataset, "label");
        (await api.UploadRowsAsync(dataset, named, names.Skip(1500).Select(n => new { file_name = n, value = n }).Append(new { file_name = "missing.jpg", value = "x" })))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var namedStatus = await api.WaitForTaskAsync(dataset, named);
        namedStatus["inserted_rows"]!.GetValue<long>().ShouldBe(1500);
        namedStatus["error_count"]!.GetValue<long>().ShouldBe(1);
    }
}
