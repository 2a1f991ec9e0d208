using Bogus;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Features.Validation;

/// <summary>
/// A file large enough to span many checkpoint batches, processed while the next batch is already being read:
/// every row lands exactly once, either as a value or as a row error of the right kind.
/// </summary>
[Collection(SharedAppCollection.Name)]
public sealed class LargeFileIngestTests(SharedApp shared)
{
    private const int Rows = 200_000;
    private const int BatchRows = 20_000; // the default Ingestion:Ingest:BatchRows, the most a batch takes

    [Fact]
    public async Task A_200k_row_file_with_5_percent_invalid_rows_of_mixed_kinds_stores_every_valid_row_and_reports_every_invalid_one()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, Rows).Select(i => $"img-{i:D6}.jpg"));

        var random = new Randomizer(5);
        var rows = new List<Dictionary<string, object?>>(Rows);
        var expected = new Dictionary<string, int>();
        var previousStored = false;
        for (var i = 0; i < Rows; i++)
        {
            // Every 20,000th row repeats the (valid) row before it: with batches of up to 20,000 rows (fewer when the
            // database is slow) such repeats fall across checkpoints as well as inside batches.
            var kind = i % BatchRows == BatchRows - 1 ? null
                : i % BatchRows == 0 && i > 0 ? "duplicate_media_id"
                : random.Double() < 0.05 ? PickKind(random) : null;
            if (kind == "duplicate_media_id" && !previousStored)
            {
                kind = "media_not_found";
            }
            rows.Add(kind switch
            {
                null => Row(media[i], random.Double(-100, 100)),
                "media_not_found" => Row(random.Uuid(), 1.5),
                "duplicate_media_id" => Row(media[i - 1], 2.5),
                "invalid_media_id" => Row($"item-{i}", 3.5),
                "missing_value" => new Dictionary<string, object?> { ["media_id"] = media[i] },
                _ => Row(media[i], "n/a"),
            });
            if (kind is not null)
            {
                expected[kind] = expected.GetValueOrDefault(kind) + 1;
            }
            previousStored = kind is null;
        }
        var invalid = expected.Values.Sum();

        var taskId = await api.DeclareFieldAsync(dataset, "score", "float");
        (await api.UploadRowsAsync(dataset, taskId, rows)).StatusCode.ShouldBe(System.Net.HttpStatusCode.Accepted);
        var status = await api.WaitForTaskAsync(dataset, taskId, TimeSpan.FromMinutes(10));

        status["status"]!.GetValue<string>().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(Rows - invalid);
        status["error_count"]!.GetValue<long>().ShouldBe(invalid);

        var db = await TestDatabase.DataSourceAsync();
        (await CountAsync(db, "SELECT count(*) FROM field_values WHERE task_id = $1", taskId)).ShouldBe(Rows - invalid);
        (await CountAsync(db, "SELECT count(*) FROM row_errors WHERE task_id = $1", taskId)).ShouldBe(invalid);
        // The CSV report, read a page of errors at a time, holds every failed row once in file order.
        var csv = CsvText.Parse(await api.ErrorsCsvAsync(dataset, taskId));
        csv[0][2].ShouldBe("row_index");
        await using (var conn = await db.OpenConnectionAsync())
        {
            csv.Skip(1).Select(row => long.Parse(row[2])).ShouldBe(await conn.ErrorRowsAsync(taskId));
        }
        foreach (var (code, count) in expected)
        {
            (await CountAsync(db, "SELECT count(*) FROM row_errors WHERE task_id = $1 AND error_code = $2", taskId, code))
                .ShouldBe(count, $"row errors of kind {code}");
        }
        var boundary = await ScalarAsync<string>(db, "SELECT reason FROM row_errors WHERE task_id = $1 AND row_index = $2", taskId, (long)BatchRows);
        boundary.ShouldContain($"from row {BatchRows - 1} of this file");
    }

    private static string PickKind(Randomizer random) =>
        random.ArrayElement(new[] { "media_not_found", "duplicate_media_id", "invalid_media_id", "missing_value", "float_invalid" });

    private static Dictionary<string, object?> Row(object mediaId, object value) => new() { ["media_id"] = mediaId, ["value"] = value };

    private static async Task<long> CountAsync(NpgsqlDataSource db, string sql, params object[] args) => await ScalarAsync<long>(db, sql, args);

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql, params object[] args)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
