using System.Net;
using System.Text.RegularExpressions;
using Ingestion.Api.Features.Datasets;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Features.Query;

/// <summary>
/// A search right after a registration and an upload is planned with statistics that know the new items and values,
/// without waiting for autovacuum: planned blind, it visited every item of the dataset (0.7 s instead of 14 ms).
/// </summary>
public sealed partial class SearchStatisticsTests
{
    [Fact]
    public async Task A_large_registration_and_a_first_upload_leave_statistics_that_know_their_rows()
    {
        var database = await TestDatabase.IsolatedConnectionStringAsync();
        await using var app = await IngestionApp.StartAsync(connectionString: database);
        await using var source = NpgsqlDataSource.Create(database);
        var api = await app.NewWorkspaceClientAsync();
        await using var db = await source.OpenConnectionAsync();
        // Only the service can refresh the statistics here; a field's table gets autovacuum back when it is attached,
        // so its manual analyze is told apart by pg_stat_user_tables.last_analyze (autovacuum sets last_autoanalyze).
        await db.ExecuteAsync("ALTER TABLE media_items SET (autovacuum_enabled = false); ANALYZE media_items", CancellationToken.None);

        var dataset = await api.CreateDatasetAsync();
        var count = MediaRegistration.AnalyzeAfterItems + 2000;
        var items = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, count).Select(i => $"frame-{i}.jpg"));
        (await EstimatedRowsAsync(db, "SELECT 1 FROM media_items WHERE dataset_id = $1", dataset)).ShouldBeGreaterThan(count / 2);

        // Values 0.00 to 119.89 on all but the last 100 items: one in a hundred is above 118.8.
        var (_, first) = await api.IngestAsync(dataset, "score", "float", items.Take(count - 100).Select((m, i) => new { media_id = m, value = i / 100.0 }));
        first["inserted_rows"]!.GetValue<long>().ShouldBe(count - 100);
        var fieldId = await db.ScalarAsync<Guid>("SELECT field_id FROM fields WHERE dataset_id = $1 AND field_name = 'score'", CancellationToken.None, dataset);
        var table = FieldValueTables.TableName(fieldId);
        var analyzed = await LastAnalyzeAsync(db, table);
        analyzed.ShouldNotBeNull();
        // Without statistics a range is guessed at a third of the table (4,000 rows).
        (await EstimatedRowsAsync(db, $"SELECT 1 FROM field_values WHERE field_id = $1 AND value_float > 118.8", fieldId)).ShouldBeLessThan(600);

        // A follow-up adding under a tenth of the values leaves them to autovacuum.
        var followUp = await api.FollowUpTaskAsync(dataset, "score");
        (await api.UploadRowsAsync(dataset, followUp, items.Skip(count - 100).Select(m => new { media_id = m, value = 1.0 })))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await api.WaitForTaskAsync(dataset, followUp))["inserted_rows"]!.GetValue<long>().ShouldBe(100);
        (await LastAnalyzeAsync(db, table)).ShouldBe(analyzed);
    }

    private static async Task<DateTime?> LastAnalyzeAsync(NpgsqlConnection db, string table)
    {
        await using var cmd = new NpgsqlCommand("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = $1", db);
        cmd.Parameters.Add(new NpgsqlParameter { Value = table });
        return await cmd.ExecuteScalarAsync() is DateTime t ? t : null;
    }

    private static async Task<long> EstimatedRowsAsync(NpgsqlConnection db, string sql, object argument) =>
        long.Parse(PlanRows().Match((await db.ExplainAsync(sql, argument))[0]).Groups[1].Value);

    [GeneratedRegex(@"rows=(\d+)")]
    private static partial Regex PlanRows();
}
