using System.Net;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Features.Query;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Infrastructure.Database;

/// <summary>Forward-only migrations carry the values already stored, as readers and filters see them, to the new shape.</summary>
[Collection(SharedAppCollection.Name)]
public sealed class SchemaMigrationTests
{
    /// <summary>
    /// Values stored as option text before migration 0018 read back, and filter, by name after it: in a field's
    /// attached partition, and in a table still being bulk-loaded (not yet attached). The database is put back in its
    /// shape before 0018 (text selections, 0018 not applied), as a database of that release would be.
    /// </summary>
    [Fact]
    public async Task Multi_enum_selections_stored_as_text_before_0018_read_and_filter_by_name_after_it()
    {
        var database = await TestDatabase.IsolatedConnectionStringAsync();
        string[] options = ["red", "green", "blue"];
        Guid dataset, loading;
        IReadOnlyList<Guid> media;
        string token;
        await using (var before = await IngestionApp.StartAsync(connectionString: database))
        {
            var api = await before.NewWorkspaceClientAsync();
            token = api.Http.DefaultRequestHeaders.Authorization!.Parameter!;
            dataset = await api.CreateDatasetAsync();
            media = await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg", "c.jpg"]);
            var (_, status) = await api.IngestAsync(dataset, "colors", "enum",
                [new { media_id = media[0], value = new[] { "blue", "red" } }, new { media_id = media[1], value = new[] { "green" } }],
                options, isMulti: true);
            status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
            // A second field whose table is still unattached, as during its first upload.
            await api.DeclareFieldAsync(dataset, "tags", "enum", options, isMulti: true);
            loading = await FieldIdAsync(database, dataset, "tags");
        }

        await using (var conn = new NpgsqlConnection(database))
        {
            await conn.OpenAsync();
            await using (var downgrade = new NpgsqlCommand("""
                DO $$
                DECLARE t text;
                BEGIN
                    FOR t IN SELECT unattached_field_values_tables() LOOP
                        EXECUTE format('ALTER TABLE %I ALTER COLUMN value_enums TYPE text[] USING field_value_enum_names(field_id, value_enums)', t);
                    END LOOP;
                END
                $$;
                ALTER TABLE field_values ALTER COLUMN value_enums TYPE text[] USING field_value_enum_names(field_id, value_enums);
                DROP FUNCTION field_value_enum_numbers, field_value_enum_names, unattached_field_values_tables;
                DELETE FROM schema_migrations WHERE version = '0018_multi_enum_values_as_option_numbers';
                """, conn))
            {
                await downgrade.ExecuteNonQueryAsync();
            }
            await using (var insert = new NpgsqlCommand($"""
                INSERT INTO {FieldValueTables.TableName(loading)} (media_id, task_id, row_index, value_enums)
                VALUES ($1, gen_random_uuid(), 0, ARRAY['green', 'blue'])
                """, conn) { Parameters = { new() { Value = media[2] } } })
            {
                await insert.ExecuteNonQueryAsync();
            }
            (await conn.ScalarAsync<string>("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'field_values'::regclass AND attname = 'value_enums'", CancellationToken.None))
                .ShouldBe("text[]");
        }

        await using var after = await IngestionApp.StartAsync(connectionString: database);
        var client = ApiClient.For(after.CreateClient(), token);

        (await client.MediaValuesAsync(dataset, media[0])).Single()!["value"]!.ToJsonString().ShouldBe("""["blue","red"]""");
        (await client.MediaValuesAsync(dataset, media[1])).Single()!["value"]!.ToJsonString().ShouldBe("""["green"]""");
        (await client.AllMatchesAsync(dataset, "colors HAS ANY (\"red\")")).ShouldBe([media[0]]);
        (await client.AllMatchesAsync(dataset, "colors HAS ALL (\"green\")")).ShouldBe([media[1]]);
        (await client.AllMatchesAsync(dataset, "colors = (\"red\", \"blue\")")).ShouldBe([media[0]]);
        await using (var conn = new NpgsqlConnection(database))
        {
            await conn.OpenAsync();
            (await conn.ScalarAsync<short[]>($"SELECT value_enums FROM {FieldValueTables.TableName(loading)}", CancellationToken.None)).ShouldBe(new short[] { 2, 3 });
        }
        // A new upload to the migrated field stores beside the migrated values.
        var followUp = await client.FollowUpTaskAsync(dataset, "colors");
        (await client.UploadRowsAsync(dataset, followUp, [new { media_id = media[2], value = new[] { "red", "green" } }])).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await client.WaitForTaskAsync(dataset, followUp))["inserted_rows"]!.GetValue<long>().ShouldBe(1);
        (await client.AllMatchesAsync(dataset, "colors HAS ANY (\"red\")")).Order().ShouldBe(new[] { media[0], media[2] }.Order());
    }

    /// <summary>
    /// Row errors stored a row each before migration 0019 list, count, sample and export the same after it, now as
    /// blocks; and a new upload's errors list beside them. The database is put back in its shape before 0019.
    /// </summary>
    [Fact]
    public async Task Row_errors_stored_as_rows_before_0019_list_and_export_the_same_after_it()
    {
        var database = await TestDatabase.IsolatedConnectionStringAsync();
        Guid dataset, task;
        IReadOnlyList<Guid> media;
        string token, statusBefore, csvBefore;
        List<string> pagesBefore;
        await using (var before = await IngestionApp.StartAsync(connectionString: database))
        {
            var api = await before.NewWorkspaceClientAsync();
            token = api.Http.DefaultRequestHeaders.Authorization!.Parameter!;
            dataset = await api.CreateDatasetAsync();
            media = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, 1200).Select(i => $"{i}.jpg"));
            // 600 values of the wrong type among the registered items, then 1,500 rows for items never registered:
            // 2,100 errors over three of the migration's blocks of 1,000 rows.
            var rows = media.Select((m, i) => new { media_id = m, value = i % 2 == 0 ? (object)1.5 : "abc" })
                .Concat(Enumerable.Range(0, 1500).Select(_ => new { media_id = Guid.NewGuid(), value = (object)2.5 }));
            (task, var status) = await api.IngestAsync(dataset, "score", "float", rows);
            status["error_count"]!.GetValue<long>().ShouldBe(2100);
            (statusBefore, pagesBefore, csvBefore) = await ErrorViewsAsync(api, dataset, task);
        }

        await using (var conn = new NpgsqlConnection(database))
        {
            await conn.OpenAsync();
            await using var downgrade = new NpgsqlCommand("""
                CREATE TABLE row_errors_as_rows AS
                SELECT task_id, row_index, workspace_id, media_id, error_code, reason, value, line, col, is_file_error, file_name
                FROM row_errors;
                DROP VIEW row_errors;
                DROP TABLE row_error_blocks;
                ALTER TABLE row_errors_as_rows RENAME TO row_errors;
                ALTER TABLE row_errors ALTER COLUMN is_file_error SET DEFAULT false, ADD PRIMARY KEY (task_id, row_index);
                DELETE FROM schema_migrations WHERE version = '0019_row_errors_in_blocks';
                """, conn);
            await downgrade.ExecuteNonQueryAsync();
        }

        await using var after = await IngestionApp.StartAsync(connectionString: database);
        var client = ApiClient.For(after.CreateClient(), token);
        var (statusAfter, pagesAfter, csvAfter) = await ErrorViewsAsync(client, dataset, task);
        statusAfter.ShouldBe(statusBefore);
        pagesAfter.ShouldBe(pagesBefore);
        csvAfter.ShouldBe(csvBefore);
        await using (var conn = new NpgsqlConnection(database))
        {
            await conn.OpenAsync();
            (await conn.ScalarAsync<long>("SELECT count(*) FROM row_error_blocks WHERE task_id = $1", CancellationToken.None, task)).ShouldBe(3);
        }
        // A follow-up's errors are stored as blocks beside the migrated ones.
        var followUp = await client.FollowUpTaskAsync(dataset, "score");
        (await client.UploadRowsAsync(dataset, followUp, [new { media_id = media[0], value = 3.5 }, new { media_id = media[1], value = 4.5 }]))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var followUpStatus = await client.WaitForTaskAsync(dataset, followUp);
        followUpStatus["inserted_rows"]!.GetValue<long>().ShouldBe(1);
        var errors = (await client.ErrorsAsync(dataset, followUp))["errors"]!.AsArray();
        errors.Select(e => (e!["row_index"]!.GetValue<long>(), e["error_code"]!.GetValue<string>())).ShouldBe([(0L, "value_already_set")]);
    }

    /// <summary>The task's status, its error list page by page (1,000 a page) and its CSV report, as text.</summary>
    private static async Task<(string Status, List<string> Pages, string Csv)> ErrorViewsAsync(ApiClient api, Guid dataset, Guid task)
    {
        var pages = new List<string>();
        string? cursor = null;
        do
        {
            var page = await api.ErrorsAsync(dataset, task, "limit=1000" + (cursor is null ? "" : $"&cursor={cursor}"));
            pages.Add(page.ToJsonString());
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        pages.Count.ShouldBe(3);
        return ((await api.StatusAsync(dataset, task)).ToJsonString(), pages, await api.ErrorsCsvAsync(dataset, task));
    }

    private static async Task<Guid> FieldIdAsync(string database, Guid dataset, string name)
    {
        await using var conn = new NpgsqlConnection(database);
        await conn.OpenAsync();
        return await conn.ScalarAsync<Guid>("SELECT field_id FROM fields WHERE dataset_id = $1 AND field_name = $2", CancellationToken.None,
            dataset, name);
    }
}
