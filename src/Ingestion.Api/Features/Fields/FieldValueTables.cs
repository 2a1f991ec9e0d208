using System.Globalization;
using Ingestion.Api.Infrastructure.Database;
using Npgsql;

namespace Ingestion.Api.Features.Fields;

/// <summary>
/// Each field keeps its values in a table of its own (migration 0008), created empty with the field. The field's
/// first upload COPYs into it while it has no index and is not yet attached; then its indexes are built once and it
/// is attached as the field's partition of field_values, where every later upload and every reader finds it.
/// </summary>
/// <remarks>
/// Reads that name a field (filters) go through field_values with field_id = $n, which the planner narrows to one
/// partition while planning. Reads of every value of an item name the dataset's field tables instead
/// (<see cref="ItemValuesSql"/>): through the parent the planner would consider the partitions of every field of every
/// dataset, which measured 31 ms of planning and a hash join over all of them with only 300 fields in the database.
/// </remarks>
public static class FieldValueTables
{
    /// <summary>The table's name: derived from the field id alone (migration 0008's field_values_table), never from user text.</summary>
    public static string TableName(Guid fieldId) => $"field_values_{fieldId:N}";

    /// <summary>
    /// The field's reload table (migration 0021's field_values_reload_table): where a later upload large beside what
    /// the field holds is bulk-loaded, over a copy of the field's values, until it is indexed and swapped in.
    /// </summary>
    public static string ReloadTableName(Guid fieldId) => $"{TableName(fieldId)}_reload";

    /// <summary>The table a bulk load into the field writes: its own, or in a reload its reload table.</summary>
    public static string BulkTableName(Guid fieldId, bool reload) => reload ? ReloadTableName(fieldId) : TableName(fieldId);

    /// <summary>The key every table has, and the query index of the one typed column the field's type fills.</summary>
    public static string[] Indexes(FieldDefinition field) => field.ValueColumn switch
    {
        "value_text" => ["key", "text", "text_trgm"],
        var column => ["key", column["value_".Length..]],
    };

    /// <summary>
    /// The values media item <c>m</c> holds, one row (field_id, value_text, value_float, value_datetime, value_enums)
    /// per field that has one: a key probe into each readable field table of the dataset. Table names come from field
    /// ids only. A field still in its first upload is left out: its values appear when that upload ends.
    /// </summary>
    public static string ItemValuesSql(IEnumerable<FieldDefinition> fields)
    {
        var parts = fields.Where(f => f.ValuesIndexed)
            .Select(f => $"SELECT field_id, value_text, value_float, value_datetime, value_enums FROM {TableName(f.FieldId)} WHERE media_id = m.media_id")
            .ToList();
        return parts.Count > 0
            ? string.Join("\nUNION ALL\n", parts)
            : "SELECT NULL::uuid AS field_id, NULL::text AS value_text, NULL::float8 AS value_float, NULL::timestamptz AS value_datetime, NULL::smallint[] AS value_enums WHERE false";
    }

    public static async Task<bool> IsIndexedAsync(NpgsqlConnection conn, Guid fieldId, CancellationToken ct) =>
        await conn.ScalarAsync<bool>("SELECT values_indexed FROM fields WHERE field_id = $1", ct, fieldId);

    /// <summary>Whether the field has a reload table: a later upload's reload begun and not yet swapped in.</summary>
    public static async Task<bool> HasReloadTableAsync(NpgsqlConnection conn, Guid fieldId, CancellationToken ct) =>
        await conn.ScalarAsync<bool>("SELECT to_regclass($1) IS NOT NULL", ct, ReloadTableName(fieldId));

    public static async Task<bool> HasValuesAsync(NpgsqlConnection conn, Guid fieldId, CancellationToken ct) =>
        await conn.ScalarAsync<bool>($"SELECT EXISTS (SELECT 1 FROM {TableName(fieldId)})", ct);

    /// <summary>
    /// Builds the table's indexes, each on a connection of its own at the same time (CREATE INDEX takes a SHARE lock,
    /// which other index builds and readers share), then attaches the table and marks the field indexed in one
    /// transaction. Safe to repeat after a crash at any point: every step is a no-op once done. The builds' memory is
    /// fitted to the table's size (<see cref="IndexBuildSettings.For"/>), whoever asks: the end of a bulk load, a
    /// failed task indexing what it stored, or the next upload indexing a table an earlier load left unindexed.
    /// </summary>
    public static async Task IndexAndAttachAsync(NpgsqlDataSource dataSource, IndexBuildConnections builds, FieldDefinition field,
        IndexBuildSettings settings, CancellationToken ct)
    {
        await BuildIndexesAsync(builds, field.FieldId, Indexes(field), settings, ct);
        await using var attach = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await attach.BeginTransactionAsync(ct);
        await attach.ExecuteUntimedAsync("SELECT attach_field_values_table($1)", ct, field.FieldId);
        await attach.ExecuteAsync("UPDATE fields SET values_indexed = true WHERE field_id = $1", ct, field.FieldId);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// Ends a reload: builds the reload table's indexes, then swaps it in for the field's table in one transaction
    /// (migration 0021), so readers go from the old values to the old and new ones at once. Safe to repeat after a crash
    /// at any point: the builds are no-ops once done, and with no reload table left the whole is one. The swap detaches
    /// the field's table from field_values, which takes the parent's ACCESS EXCLUSIVE lock until it commits: behind a
    /// long read (an export, a search) it would wait, and every query after it would queue behind it, so it waits at most
    /// half a second for its locks and tries again a moment later, for as long as it takes: giving up would end the task
    /// with values it counted that no reader can see.
    /// </summary>
    public static async Task IndexAndSwapInReloadAsync(NpgsqlDataSource dataSource, IndexBuildConnections builds, FieldDefinition field,
        IndexBuildSettings settings, CancellationToken ct)
    {
        await using (var conn = await dataSource.OpenConnectionAsync(ct))
        {
            if (!await HasReloadTableAsync(conn, field.FieldId, ct))
            {
                return;
            }
        }
        await BuildIndexesAsync(builds, field.FieldId, Indexes(field), settings, ct, reload: true);
        for (var attempt = 1; ; attempt++)
        {
            await using var swap = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await swap.BeginTransactionAsync(ct);
            try
            {
                await swap.ExecuteAsync("SELECT set_config('lock_timeout', '500ms', true)", ct);
                await swap.ExecuteUntimedAsync("SELECT swap_in_field_values_reload($1)", ct, field.FieldId);
                await tx.CommitAsync(ct);
                return;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.DeadlockDetected)
            {
                await tx.RollbackAsync(ct);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * attempt, 2_000)), ct);
            }
        }
    }

    /// <summary>
    /// Gathers the planner's statistics on the field's table once an upload has added <paramref name="rowsAdded"/> rows,
    /// if they are a tenth or more of the rows PostgreSQL last counted there (so always after a first upload), as
    /// autovacuum would, but before the task shows finished instead of up to a minute after. Without them a search
    /// right after an upload is planned blind: it took 0.7 s instead of 14 ms for `t &gt; 99.9` over 400,000 values,
    /// visiting every item of the dataset (docs/benchmarks.md, 5 Dec, 11:05–12:05). Only the columns a search reads are
    /// sampled, 9,000 rows (statistics target 30 instead of the server's 100): 40 ms instead of 70 at 1M rows, and a
    /// 30-step histogram still tells a selective range from a broad one.
    /// </summary>
    public static async Task AnalyzeIfGrownAsync(NpgsqlConnection conn, FieldDefinition field, long rowsAdded, CancellationToken ct, bool swappedIn = false)
    {
        // A table just swapped in has no statistics at all, however few rows the upload added.
        if (!swappedIn && (rowsAdded <= 0 || !await conn.StatisticsDueAsync(TableName(field.FieldId), rowsAdded, 10, ct)))
        {
            return;
        }
        await using var tx = await conn.BeginTransactionAsync(ct);
        await conn.ExecuteAsync("SELECT set_config('default_statistics_target', '30', true)", ct);
        // The table's name is made from the field id alone; the column from the field's declared type.
        await conn.ExecuteUntimedAsync($"ANALYZE {TableName(field.FieldId)} (field_id, media_id, {field.ValueColumn})", ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// Builds <paramref name="indexes"/> of the field's table, each on a connection of its own at the same time (from
    /// <paramref name="builds"/>, which keep the memory of builds before), with memory fitted to the table's size. The
    /// benchmark's PostgreSQL-alone baseline builds its table's indexes here too, so both are built the same way.
    /// </summary>
    public static async Task BuildIndexesAsync(IndexBuildConnections builds, Guid fieldId, IEnumerable<string> indexes, IndexBuildSettings settings,
        CancellationToken ct, bool reload = false)
    {
        await using (var sizing = await builds.OpenConnectionAsync(ct))
        {
            settings = settings.For(await sizing.ScalarAsync<long>(
                "SELECT coalesce(pg_relation_size(to_regclass($1)), 0)", ct, BulkTableName(fieldId, reload)));
        }
        await Task.WhenAll(indexes.Select(async index =>
        {
            await using var conn = await builds.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            if (settings.MemoryMb > 0)
            {
                await conn.ExecuteAsync("SELECT set_config('maintenance_work_mem', $1, true)", ct, $"{settings.MemoryMb}MB");
            }
            if (settings.ParallelWorkers >= 0)
            {
                await conn.ExecuteAsync("SELECT set_config('max_parallel_maintenance_workers', $1, true)", ct, settings.ParallelWorkers.ToString(CultureInfo.InvariantCulture));
            }
            await conn.ExecuteUntimedAsync("SELECT create_field_values_index($1, $2, $3)", ct, fieldId, index, reload);
            await tx.CommitAsync(ct);
        }));
    }
}

/// <summary>
/// How each of a field's index builds runs, set for the build's own transaction: PostgreSQL's maintenance_work_mem in MB
/// and max_parallel_maintenance_workers. 0 memory or negative workers keep the server's setting.
/// </summary>
public readonly record struct IndexBuildSettings(int MemoryMb, int ParallelWorkers)
{
    /// <summary>
    /// The settings for a table of <paramref name="tableBytes"/>. A build whose entries outgrow its memory sorts them in
    /// runs of that size, each in the middle of its scan, and PostgreSQL's count of the scan stands still meanwhile.
    /// The field's builds start together and fill their memory at about the same point of the scan, so their first
    /// runs are sorted at the same time and the status stands still with them (1.02–1.07 s at 10M rows in 128 MB).
    /// Such builds get runs half as long, and so half the wait: their sort is on disk either way. A build that fits
    /// keeps the whole memory and sorts in it. The table's size stands for its entries' (a 1M-row float table is
    /// 88 MB; trace_sort gave 87 and 95 MB for its key and value entries), and is known without a scan. 0: the
    /// settings as they are.
    /// </summary>
    public IndexBuildSettings For(long tableBytes) =>
        MemoryMb > 1 && tableBytes > (long)MemoryMb << 20 ? this with { MemoryMb = MemoryMb / 2 } : this;
}
