using System.Net;
using System.Text.Json.Nodes;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Features.Validation;

/// <summary>
/// A field's first upload is bulk-loaded: rows are checked in C# against the dataset's items and COPYed into the
/// field's own table, which is indexed and attached when the upload ends. Every later upload goes through the indexed
/// table and SQL. Both must give every row the same verdict, word for word.
/// </summary>
[Collection(SharedAppCollection.Name)]
public sealed class BulkLoadTests(SharedApp shared)
{
    public static TheoryData<string, string[]?, bool?> Types => new()
    {
        { "float", null, null },
        { "enum", ["red", "green", "blue"], true },
        { "string", null, null },
        { "datetime", null, null },
    };

    [Theory]
    [MemberData(nameof(Types))]
    public async Task A_bulk_loaded_first_upload_and_the_same_file_through_the_indexed_table_give_the_same_verdicts_and_values(
        string type, string[]? options, bool? isMulti)
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var (bulkTask, _) = await BulkAndIndexedGiveTheSameVerdictsAsync(api, await TestDatabase.ConnectionStringAsync(), type, options, isMulti);
        await using var db = await TestDatabase.OpenConnectionAsync();
        (await db.ScalarAsync<int>("SELECT load_passes FROM tasks WHERE task_id = $1", CancellationToken.None, bulkTask)).ShouldBe(1);
    }

    [Fact]
    public async Task A_dataset_larger_than_one_ledger_is_bulk_loaded_in_passes_with_the_same_verdicts_and_values_as_the_indexed_table()
    {
        // 400 items and a ledger of at most 60: seven passes, each deciding the rows of one slice of the items.
        var connectionString = await TestDatabase.IsolatedConnectionStringAsync();
        await using var app = await IngestionApp.StartAsync(new Dictionary<string, string?> { ["Ingestion:Ingest:BulkLoadMaxItems"] = "60" },
            connectionString);
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var db = await source.OpenConnectionAsync();
        // Files that name items by id only let the first pass spill each later slice's rows for its pass; a file that
        // names some by file name is parsed again in every pass.
        foreach (var (type, options, isMulti, byName) in new (string, string[]?, bool?, bool)[]
                 {
                     ("float", null, null, true), ("float", null, null, false), ("enum", ["red", "green", "blue"], true, false),
                     ("string", null, null, true), ("datetime", null, null, false),
                 })
        {
            var api = await app.NewWorkspaceClientAsync();
            var (bulkTask, bulkStatus) = await BulkAndIndexedGiveTheSameVerdictsAsync(api, connectionString, type, options, isMulti, byName);
            (await db.ScalarAsync<int>("SELECT load_passes FROM tasks WHERE task_id = $1", CancellationToken.None, bulkTask)).ShouldBe(7);
            // Each pass reports its ledger read whole before its first row, the last pass's as well.
            (await db.ScalarAsync<float>("SELECT load_prepared FROM tasks WHERE task_id = $1", CancellationToken.None, bulkTask)).ShouldBe(1f);
            // And its index builds whole once they are done.
            (await db.ScalarAsync<float>("SELECT index_built FROM tasks WHERE task_id = $1", CancellationToken.None, bulkTask)).ShouldBe(1f);
            // Across passes, "processed" counts every row decided: all of them once the task is done.
            bulkStatus["rows_processed"]!.GetValue<long>().ShouldBe(bulkStatus["total_rows"]!.GetValue<long>());
            bulkStatus["progress"]!.GetValue<double>().ShouldBe(100);
        }
    }

    [Fact]
    public async Task A_string_fields_three_index_builds_wait_their_turn_on_one_build_connection_and_the_upload_ends_with_the_same_verdicts()
    {
        var connectionString = await TestDatabase.IsolatedConnectionStringAsync();
        await using var app = await IngestionApp.StartAsync(new Dictionary<string, string?> { ["Ingestion:Database:IndexBuildConnections"] = "1" },
            connectionString);
        var api = await app.NewWorkspaceClientAsync();
        var (bulkTask, _) = await BulkAndIndexedGiveTheSameVerdictsAsync(api, connectionString, "string", null, null);
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var db = await source.OpenConnectionAsync();
        (await db.ScalarAsync<float>("SELECT index_built FROM tasks WHERE task_id = $1", CancellationToken.None, bulkTask)).ShouldBe(1f);
        // The builds ran on the build pool, which never grew past its one connection.
        (await db.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'ingestion index builds'",
            CancellationToken.None)).ShouldBe(1);
    }

    [Fact]
    public async Task Rows_claimed_before_and_after_the_first_row_named_by_file_name_keep_file_order_as_in_the_indexed_table()
    {
        // Batches of at most 10 rows. A bulk load claims a batch's rows as the batch is sealed, until a batch names an
        // item by file name (resolved in the database, as the batch is flushed); from there on it claims each batch as
        // it is flushed. Repeats across that switch, both ways, must still name the item's first row.
        var connectionString = await TestDatabase.IsolatedConnectionStringAsync();
        await using var app = await IngestionApp.StartAsync(new Dictionary<string, string?> { ["Ingestion:Ingest:BatchRows"] = "10" },
            connectionString);
        var api = await app.NewWorkspaceClientAsync();
        var (_, status) = await BulkAndIndexedGiveTheSameVerdictsAsync(api, connectionString, "float", null, null, rowsOf: (items, names) =>
        {
            var rows = new List<object>();
            for (var i = 0; i < 80; i++)
            {
                rows.Add(i switch
                {
                    2 => new { media_id = items[1], value = Value("float", i) },                      // repeat of row 1, by id
                    3 => new { media_id = Guid.NewGuid(), value = Value("float", i) },                // unknown id
                    35 => new { file_name = "frame é missing.jpg", value = Value("float", i) },       // unknown name
                    45 => new { file_name = names[5], value = Value("float", i) },                    // repeat of row 5 (by id), by name
                    60 => new { media_id = items[40], value = Value("float", i) },                    // repeat of row 40 (by name), by id
                    70 => new { media_id = items[i], value = (object)new { wrong = true } },
                    >= 35 and < 50 => new { file_name = names[i], value = Value("float", i) },
                    _ => new { media_id = items[i], value = Value("float", i) },
                });
            }
            return rows;
        });
        status["error_count"]!.GetValue<long>().ShouldBe(6);
    }

    [Theory]
    [InlineData(1)]
    // 400 items and a ledger of at most 60: seven passes.
    [InlineData(7)]
    public async Task A_later_upload_large_beside_its_field_is_bulk_loaded_over_a_copy_of_its_values_and_swapped_in_with_the_indexed_tables_verdicts(
        int passes)
    {
        // Every upload counts as large here; a reload still needs at least half as many rows as the field has values.
        var connectionString = await TestDatabase.IsolatedConnectionStringAsync();
        await using var app = await IngestionApp.StartAsync(new Dictionary<string, string?>
        {
            ["Ingestion:Ingest:ReloadMinRows"] = "1",
            ["Ingestion:Ingest:BulkLoadMaxItems"] = passes == 1 ? "1000000" : "60",
        }, connectionString);
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var db = await source.OpenConnectionAsync();
        foreach (var (type, options, isMulti) in new (string, string[]?, bool?)[]
                 {
                     ("float", null, null), ("enum", ["red", "green", "blue"], true), ("string", null, null), ("datetime", null, null),
                 })
        {
            var api = await app.NewWorkspaceClientAsync();
            var dataset = await api.CreateDatasetAsync();
            var names = Enumerable.Range(0, 400).Select(i => $"frame é {i:D3}.jpg").ToList();
            var items = await api.RegisterMediaAsync(dataset, names);
            var rows = MixedRows(type, items, names);
            // The field's first upload gives every fifth item a value; the file's rows for those items are refused.
            var earlier = items.Where((_, i) => i % 5 == 0).Select((m, k) => (object)new { media_id = m, value = Value(type, 1000 + k) }).ToList();
            var (firstTask, _) = await api.IngestAsync(dataset, "reloaded", type, earlier, options, isMulti);
            var fieldId = await db.ScalarAsync<Guid>("SELECT field_id FROM tasks WHERE task_id = $1", CancellationToken.None, firstTask);
            var earlierValues = await LinesAsync(db, ValuesSql, firstTask);
            // The same file as another field's first upload: the values a load stores for the rows it keeps.
            var (freshTask, _) = await api.IngestAsync(dataset, "fresh", type, rows, options, isMulti);

            var later = await api.FollowUpTaskAsync(dataset, "reloaded");
            // A dry run goes through the indexed table and SQL and stores nothing: the verdicts the reload must give.
            var file = System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(rows));
            var dryRun = await api.UploadAndWaitAsync(dataset, api.UploadFileAsync(dataset, later, file, "values.json", "application/json", "?dry_run=true"));
            (await api.UploadFileAsync(dataset, later, file, "values.json", "application/json")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var status = await api.WaitForTaskAsync(dataset, later);

            (await db.ScalarAsync<bool>("SELECT load_reload FROM tasks WHERE task_id = $1", CancellationToken.None, later)).ShouldBeTrue(type);
            (await db.ScalarAsync<int>("SELECT load_passes FROM tasks WHERE task_id = $1", CancellationToken.None, later)).ShouldBe(passes, type);
            status["inserted_rows"]!.GetValue<long>().ShouldBe(dryRun["inserted_rows"]!.GetValue<long>(), type);
            status["error_count"]!.GetValue<long>().ShouldBe(dryRun["error_count"]!.GetValue<long>(), type);
            // The same rows refused for the same reasons, but one: a repeat of an item set by the earlier upload is
            // already set to the reload, as to every row decided against a ledger, where SQL calls it a duplicate of the
            // row before it when both are in one batch (and already set when a checkpoint lies between them).
            var errors = (await LinesAsync(db, ErrorsSql, later)).ToDictionary(e => e.Split(" | ")[0]);
            var sqlErrors = (await LinesAsync(db, ErrorsSql, dryRun["task_id"]!.GetValue<Guid>())).ToDictionary(e => e.Split(" | ")[0]);
            errors.Keys.ShouldBe(sqlErrors.Keys, type);
            foreach (var (row, error) in errors)
            {
                if (error.Contains(" | value_already_set | ") && sqlErrors[row].Contains(" | duplicate_media_id | "))
                {
                    continue;
                }
                error.ShouldBe(sqlErrors[row], type);
            }
            errors.Values.Count(e => e.Contains(" | value_already_set | ")).ShouldBeGreaterThan(0, type);
            // Stored: the fresh load's values less the rows refused as already set, and the earlier values untouched.
            var alreadySet = (await LinesAsync(db, "SELECT row_index::text FROM row_errors WHERE task_id = $1 AND error_code = 'value_already_set'", later))
                .Select(long.Parse).ToHashSet();
            var freshValues = await LinesAsync(db, ValuesSql, freshTask);
            (await LinesAsync(db, ValuesSql, later)).ShouldBe(freshValues.Where(v => !alreadySet.Contains(long.Parse(v.Split(" | ")[1]))), type);
            (await LinesAsync(db, ValuesSql, firstTask)).ShouldBe(earlierValues, type);
            (await db.ScalarAsync<long>("SELECT count(*) FROM field_values WHERE field_id = $1", CancellationToken.None, fieldId))
                .ShouldBe(earlier.Count + status["inserted_rows"]!.GetValue<long>(), type);

            // The reload table became the field's table: attached, indexed under the field's names, immutable; none is left.
            (await db.ScalarAsync<bool>("SELECT to_regclass(field_values_reload_table($1)) IS NULL", CancellationToken.None, fieldId)).ShouldBeTrue(type);
            (await db.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = field_values_table($1)::regclass)", CancellationToken.None, fieldId))
                .ShouldBeTrue(type);
            var freshField = await db.ScalarAsync<Guid>("SELECT field_id FROM tasks WHERE task_id = $1", CancellationToken.None, freshTask);
            const string IndexesSql = "SELECT indexname FROM pg_indexes WHERE tablename = field_values_table($1) ORDER BY 1";
            (await LinesAsync(db, IndexesSql, fieldId)).ShouldBe(
                (await LinesAsync(db, IndexesSql, freshField)).Select(i => i.Replace($"{freshField:N}", $"{fieldId:N}")), type);
            (await Should.ThrowAsync<PostgresException>(() => db.ExecuteAsync($"TRUNCATE field_values_{fieldId:N}", CancellationToken.None)))
                .MessageText.ShouldContain("immutable");
            (await api.MediaValuesAsync(dataset, items[0])).Count.ShouldBe(2, type); // its earlier value, and the fresh field's
            (await api.MediaValuesAsync(dataset, items[6])).Count.ShouldBe(2, type); // both fields' from this file
        }
    }

    [Fact]
    public async Task A_reload_waits_for_a_long_read_of_its_field_to_end_and_swaps_in_after_it_while_reads_keep_answering()
    {
        var connectionString = await TestDatabase.IsolatedConnectionStringAsync();
        await using var app = await IngestionApp.StartAsync(new Dictionary<string, string?> { ["Ingestion:Ingest:ReloadMinRows"] = "1" },
            connectionString);
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var db = await source.OpenConnectionAsync();
        var api = await app.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var items = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, 200).Select(i => $"frame-{i:D3}.jpg"));
        var (first, _) = await api.IngestAsync(dataset, "depth", "float", items.Take(10).Select(m => (object)new { media_id = m, value = 1.5 }));
        var fieldId = await db.ScalarAsync<Guid>("SELECT field_id FROM tasks WHERE task_id = $1", CancellationToken.None, first);

        // A read of the field's table that stays open, as a long export would: the swap cannot drop the table under it.
        await using var reader = await source.OpenConnectionAsync();
        await using var reading = await reader.BeginTransactionAsync();
        (await reader.ScalarAsync<long>($"SELECT count(*) FROM field_values_{fieldId:N}", CancellationToken.None)).ShouldBe(10);
        var later = await api.FollowUpTaskAsync(dataset, "depth");
        (await api.UploadRowsAsync(dataset, later, items.Skip(10).Select(m => (object)new { media_id = m, value = 2.5 })))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var waiting = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await db.ScalarAsync<bool>("SELECT to_regclass(field_values_reload_table($1) || '_key') IS NULL", CancellationToken.None, fieldId))
        {
            DateTime.UtcNow.ShouldBeLessThan(waiting, "the reload never built its indexes");
            await Task.Delay(50);
        }
        // Indexed and waiting to swap: the task is not finished, and reads of the field still answer, with the old values.
        await Task.Delay(1500);
        (await api.StatusAsync(dataset, later))["status"]!.GetValue<string>().ShouldBe("IN_PROGRESS");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        (await api.MediaValuesAsync(dataset, items[0])).Single()!["value"]!.GetValue<double>().ShouldBe(1.5);
        (await api.MediaValuesAsync(dataset, items[20])).ShouldBeEmpty();
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));

        await reading.CommitAsync();
        var status = await api.WaitForTaskAsync(dataset, later);
        status["status"]!.GetValue<string>().ShouldBe("COMPLETED");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(190);
        (await db.ScalarAsync<long>("SELECT count(*) FROM field_values WHERE field_id = $1", CancellationToken.None, fieldId)).ShouldBe(200);
        (await db.ScalarAsync<bool>("SELECT to_regclass(field_values_reload_table($1)) IS NULL", CancellationToken.None, fieldId)).ShouldBeTrue();
        (await api.MediaValuesAsync(dataset, items[20])).Single()!["value"]!.GetValue<double>().ShouldBe(2.5);
    }

    // A bulk load that stops on an error no retry would cure ends FAILED with what it committed counted, and makes that
    // readable at once: a first upload indexes and attaches the field's table, a reload swaps its reload table in. The
    // error is a CHECK on the task's own row that its checkpoint past 50 rows breaks (batches of 10 rows), so the load
    // fails between two commits, as it would on a disk that filled up.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_bulk_load_stopped_by_an_unexpected_error_ends_FAILED_with_what_it_committed_readable_and_counted(bool reload)
    {
        var connectionString = await TestDatabase.IsolatedConnectionStringAsync();
        await using var app = await IngestionApp.StartAsync(new Dictionary<string, string?>
        {
            ["Ingestion:Ingest:ReloadMinRows"] = "1",
            ["Ingestion:Ingest:BatchRows"] = "10",
        }, connectionString);
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var db = await source.OpenConnectionAsync();
        var api = await app.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var items = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, 200).Select(i => $"frame-{i:D3}.jpg"));
        var earlier = reload ? 10 : 0;
        Guid task;
        if (reload)
        {
            await api.IngestAsync(dataset, "depth", "float", items.Take(earlier).Select(m => (object)new { media_id = m, value = 1.5 }));
            task = await api.FollowUpTaskAsync(dataset, "depth");
        }
        else
        {
            task = await api.DeclareFieldAsync(dataset, "depth", "float");
        }
        var fieldId = await db.ScalarAsync<Guid>("SELECT field_id FROM tasks WHERE task_id = $1", CancellationToken.None, task);
        // DDL takes no parameters; a Guid's text is hex digits and dashes only.
        await db.ExecuteAsync($"ALTER TABLE tasks ADD CONSTRAINT fail_past_50 CHECK (task_id <> '{task}' OR rows_processed <= 50) NOT VALID",
            CancellationToken.None);

        (await api.UploadRowsAsync(dataset, task, items.Skip(earlier).Select(m => (object)new { media_id = m, value = 2.5 })))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var status = await api.WaitForTaskAsync(dataset, task);

        status["status"]!.GetValue<string>().ShouldBe("FAILED");
        status["failure_reason"]!.GetValue<string>().ShouldContain("unexpected error");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(50);
        status["error_count"]!.GetValue<long>().ShouldBe(0);
        (await db.ScalarAsync<bool>("SELECT load_reload FROM tasks WHERE task_id = $1", CancellationToken.None, task)).ShouldBe(reload);
        // What the task counted is what readers see, through the field's partition, with the earlier values beside it.
        (await db.ScalarAsync<bool>("SELECT values_indexed FROM fields WHERE field_id = $1", CancellationToken.None, fieldId)).ShouldBeTrue();
        (await db.ScalarAsync<long>("SELECT count(*) FROM field_values WHERE field_id = $1", CancellationToken.None, fieldId)).ShouldBe(earlier + 50);
        (await db.ScalarAsync<bool>("SELECT to_regclass(field_values_reload_table($1)) IS NULL", CancellationToken.None, fieldId)).ShouldBeTrue();
        (await api.MediaValuesAsync(dataset, items[earlier + 49])).Single()!["value"]!.GetValue<double>().ShouldBe(2.5);
        (await api.MediaValuesAsync(dataset, items[earlier + 50])).ShouldBeEmpty();
        if (reload)
        {
            (await api.MediaValuesAsync(dataset, items[0])).Single()!["value"]!.GetValue<double>().ShouldBe(1.5);
        }

        // The field takes the rest in its next upload, which finds the stored rows already set.
        await db.ExecuteAsync("ALTER TABLE tasks DROP CONSTRAINT fail_past_50", CancellationToken.None);
        var rest = await api.FollowUpTaskAsync(dataset, "depth");
        (await api.UploadRowsAsync(dataset, rest, items.Skip(earlier).Select(m => (object)new { media_id = m, value = 3.5 })))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var restStatus = await api.WaitForTaskAsync(dataset, rest);
        restStatus["inserted_rows"]!.GetValue<long>().ShouldBe(200 - earlier - 50);
        restStatus["error_count"]!.GetValue<long>().ShouldBe(50);
        (await db.ScalarAsync<long>("SELECT count(*) FROM field_values WHERE field_id = $1", CancellationToken.None, fieldId)).ShouldBe(200);
    }

    /// <summary>
    /// Sends the same mixed file through a field's first upload (bulk-loaded) and through a follow-up upload of another
    /// field (the indexed table and SQL), and holds both to the same verdict and value for every row.
    /// <paramref name="rowsOf"/>: the file's rows for the dataset's items and their names (<see cref="MixedRows"/> when
    /// not given); they must include an unknown name and a repeat of row 1.
    /// </summary>
    private static async Task<(Guid BulkTask, JsonObject BulkStatus)> BulkAndIndexedGiveTheSameVerdictsAsync(ApiClient api, string connectionString,
        string type, string[]? options, bool? isMulti, bool byName = true, Func<IReadOnlyList<Guid>, IReadOnlyList<string>, List<object>>? rowsOf = null)
    {
        var dataset = await api.CreateDatasetAsync();
        var names = Enumerable.Range(0, 400).Select(i => $"frame é {i:D3}.jpg").ToList();
        var items = await api.RegisterMediaAsync(dataset, names);
        var rows = rowsOf?.Invoke(items, names) ?? MixedRows(type, items, names, byName);

        // Field "bulk": its first upload, bulk-loaded.
        var (bulkTask, bulkStatus) = await api.IngestAsync(dataset, "bulk", type, rows, options, isMulti);
        // Field "indexed": a first upload that stores nothing indexes its table; the follow-up then goes through SQL.
        await api.IngestAsync(dataset, "indexed", type, [new { media_id = Guid.NewGuid(), value = Value(type, 0) }], options, isMulti);
        var followUp = await api.FollowUpTaskAsync(dataset, "indexed");
        (await api.UploadRowsAsync(dataset, followUp, rows)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var indexedStatus = await api.WaitForTaskAsync(dataset, followUp);

        bulkStatus["inserted_rows"]!.GetValue<long>().ShouldBe(indexedStatus["inserted_rows"]!.GetValue<long>());
        bulkStatus["error_count"]!.GetValue<long>().ShouldBe(indexedStatus["error_count"]!.GetValue<long>());
        bulkStatus["error_count"]!.GetValue<long>().ShouldBeGreaterThan(0);
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var db = await source.OpenConnectionAsync();
        var bulkErrors = await LinesAsync(db, ErrorsSql, bulkTask);
        var indexedErrors = await LinesAsync(db, ErrorsSql, followUp);
        bulkErrors.Except(indexedErrors).ShouldBeEmpty("bulk-load verdicts the indexed path does not give");
        indexedErrors.Except(bulkErrors).ShouldBeEmpty("indexed-path verdicts the bulk load does not give");
        bulkErrors.Count.ShouldBe(indexedErrors.Count, "each row is refused once");
        bulkErrors.ShouldContain(e => e.Contains("media_not_found") && e.Contains(byName ? "No media item named \"frame é missing.jpg\"" : "No media item with media_id"));
        bulkErrors.ShouldContain(e => e.Contains("duplicate_media_id") && e.Contains("from row 1 of this file"));
        (await LinesAsync(db, ValuesSql, bulkTask)).ShouldBe(await LinesAsync(db, ValuesSql, followUp));
        foreach (var task in new[] { bulkTask, followUp })
        {
            await ErrorListPagesEveryErrorOnceInRowOrderAsync(api, db, dataset, task, null);
            await ErrorListPagesEveryErrorOnceInRowOrderAsync(api, db, dataset, task, "media_not_found");
        }

        // A repeat of the file on the bulk-loaded field now goes through SQL: every stored row is already set there.
        var again = await api.FollowUpTaskAsync(dataset, "bulk");
        (await api.UploadRowsAsync(dataset, again, rows)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var againStatus = await api.WaitForTaskAsync(dataset, again);
        againStatus["inserted_rows"]!.GetValue<long>().ShouldBe(0);
        againStatus["error_count"]!.GetValue<long>().ShouldBe(rows.Count);
        // Each stored item's first row is refused as already set; a repeat of it is a duplicate of that row when both
        // are in one batch, and already set too when a checkpoint lies between them (it is checked against the table).
        (await db.ScalarAsync<long>("SELECT count(*) FROM row_errors WHERE task_id = $1 AND error_code = 'value_already_set'", CancellationToken.None, again))
            .ShouldBeGreaterThanOrEqualTo(bulkStatus["inserted_rows"]!.GetValue<long>());
        return (bulkTask, bulkStatus);
    }

    [Fact]
    public async Task A_field_table_gets_the_key_and_the_one_query_index_its_type_needs_once_its_first_upload_ends()
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var items = await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg"]);
        var declared = await api.DeclareFieldAsync(dataset, "score", "float");
        await using var db = await TestDatabase.OpenConnectionAsync();
        var fieldId = await db.ScalarAsync<Guid>("SELECT field_id FROM tasks WHERE task_id = $1", CancellationToken.None, declared);

        // A dry run first stores nothing and leaves the table to the real upload's bulk load.
        var dryRun = await api.UploadAndWaitAsync(dataset, api.Http.PostAsync(
            $"/api/v1/datasets/{dataset}/custom_metadata/tasks/{declared}?dry_run=true",
            new StringContent($$"""[{"media_id":"{{items[0]}}","value":1}]""", System.Text.Encoding.UTF8, "application/json")));
        dryRun["inserted_rows"]!.GetValue<long>().ShouldBe(1); // would be stored
        (await db.ScalarAsync<long>("SELECT count(*) FROM field_values WHERE field_id = $1", CancellationToken.None, fieldId)).ShouldBe(0);
        (await db.ScalarAsync<bool>("SELECT values_indexed FROM fields WHERE field_id = $1", CancellationToken.None, fieldId)).ShouldBeFalse();
        // Autovacuum stays off the table while it loads (a vacuum still running would hold up the index builds).
        (await db.ScalarAsync<string>(ReloptionsSql, CancellationToken.None, fieldId)).ShouldBe("autovacuum_enabled=false");

        (await api.UploadRowsAsync(dataset, declared, items.Select((m, i) => (object)new { media_id = m, value = i + 0.5 })))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await api.WaitForTaskAsync(dataset, declared))["status"]!.GetValue<string>().ShouldBe("COMPLETED");

        (await db.ScalarAsync<bool>("SELECT values_indexed FROM fields WHERE field_id = $1", CancellationToken.None, fieldId)).ShouldBeTrue();
        (await db.ScalarAsync<string>(ReloptionsSql, CancellationToken.None, fieldId)).ShouldBe("");
        var indexes = await LinesAsync(db, "SELECT indexname FROM pg_indexes WHERE tablename = field_values_table($1) ORDER BY 1", fieldId);
        indexes.ShouldBe([$"field_values_{fieldId:N}_float", $"field_values_{fieldId:N}_key"]);
        (await db.ScalarAsync<long>("SELECT count(*) FROM field_values WHERE field_id = $1", CancellationToken.None, fieldId)).ShouldBe(2);
        (await api.MediaValuesAsync(dataset, items[1])).Single()!["value"]!.GetValue<double>().ShouldBe(1.5);
        // The field's own table is as immutable as the parent: TRUNCATE triggers do not pass from parent to partition.
        (await Should.ThrowAsync<PostgresException>(() => db.ExecuteAsync($"TRUNCATE field_values_{fieldId:N}", CancellationToken.None)))
            .MessageText.ShouldContain("immutable");
    }

    private const string ReloptionsSql = "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = field_values_table($1)::regclass";

    // A refused float's value compares as a number: PostgreSQL writes some doubles with 17 digits where .NET writes the
    // shortest form (2.4999999999999998e+22 against 2.5e+22, the same double), and both give the same value back.
    private const string ErrorsSql = """
        SELECT concat_ws(' | ', row_index, media_id, file_name, error_code, reason,
                         CASE WHEN value ~ '^-?[0-9.]+(e[-+][0-9]+)?$' THEN value::float8::text ELSE value END, line)
        FROM row_errors WHERE task_id = $1 ORDER BY row_index
        """;

    private const string ValuesSql = """
        SELECT concat_ws(' | ', media_id, row_index, value_text, value_float, value_datetime, value_enums)
        FROM field_values WHERE task_id = $1 ORDER BY row_index
        """;

    /// <summary>
    /// Valid rows by id and by file name, and every kind of row the item checks refuse: an unknown id, an unknown name,
    /// a repeat by id, a repeat by name of an item first named by id, and a wrong value (refused before the item checks).
    /// Without <paramref name="byName"/>, the rows that would name an item by file name give its id instead.
    /// </summary>
    private static List<object> MixedRows(string type, IReadOnlyList<Guid> items, IReadOnlyList<string> names, bool byName = true)
    {
        var rows = new List<object>();
        for (var i = 0; i < items.Count; i++)
        {
            rows.Add((i % 7) switch
            {
                1 when byName => new { file_name = names[i], value = Value(type, i) },
                2 => new { media_id = Guid.NewGuid(), value = Value(type, i) },
                3 => new { media_id = items[i - 2], value = Value(type, i) },
                4 when byName => new { file_name = names[i - 4], value = Value(type, i) },
                4 => new { media_id = items[i - 4], value = Value(type, i) },
                5 when i % 2 == 1 => new { media_id = items[i], value = (object)new { wrong = true } },
                _ => new { media_id = items[i], value = Value(type, i) },
            });
        }
        if (byName)
        {
            rows.Insert(2, new { file_name = "frame é missing.jpg", value = Value(type, 1) });
        }
        return rows;
    }

    private static object Value(string type, int i) => type switch
    {
        // Floats whose text differs between notations, so the refused rows' values are compared as stored.
        "float" => (i % 4) switch { 0 => i + 0.1, 1 => 1e21 * i, 2 => 5e-7 * i, _ => -i / 3.0 },
        "enum" => i % 3 == 0 ? new[] { "red", "blue" } : new[] { "green" },
        // Some before PostgreSQL's epoch (2000) with ticks below a microsecond, which both paths must truncate alike.
        "datetime" => i % 5 == 0
            ? new DateTime(1969, 7, 20, 20, 17, 40, DateTimeKind.Utc).AddTicks(1_234_567 + i).ToString("O")
            : new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i * 3601.25).ToString("O"),
        _ => $"label \"{i}\" ü",
    };

    /// <summary>
    /// Pages through the task's error list seven at a time, as a client would, and holds it to every error the task
    /// stored, once each, in row order. A bulk load in passes stores blocks of errors that overlap in rows (each later
    /// pass refuses rows from all over the file), and the SQL path stores two blocks a batch (type errors and item
    /// verdicts), so a page must merge them.
    /// </summary>
    private static async Task ErrorListPagesEveryErrorOnceInRowOrderAsync(ApiClient api, NpgsqlConnection db, Guid dataset, Guid task, string? code)
    {
        var stored = await db.ErrorRowsAsync(task, code);
        stored.ShouldNotBeEmpty();
        var listed = new List<long>();
        string? cursor = null;
        do
        {
            var page = await api.ErrorsAsync(dataset, task, "limit=7" + (code is null ? "" : $"&error_code={code}") + (cursor is null ? "" : $"&cursor={cursor}"));
            listed.AddRange(page["errors"]!.AsArray().Select(e => e!["row_index"]!.GetValue<long>()));
            page["summary"]!["total"]!.GetValue<long>().ShouldBe(await db.ScalarAsync<long>(
                "SELECT count(*) FROM row_errors WHERE task_id = $1", CancellationToken.None, task));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        listed.ShouldBe(stored, $"the error list of task {task}, error_code {code ?? "any"}");
    }

    private static async Task<List<string>> LinesAsync(NpgsqlConnection db, string sql, object arg)
    {
        await using var cmd = new NpgsqlCommand(sql, db) { Parameters = { new() { Value = arg } } };
        await using var r = await cmd.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await r.ReadAsync())
        {
            lines.Add(r.GetString(0));
        }
        return lines;
    }
}
