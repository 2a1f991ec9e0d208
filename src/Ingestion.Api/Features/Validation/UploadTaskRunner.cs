using System.Diagnostics;
using System.Threading.Channels;
using Ingestion.Api.Features.Errors;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Api.Infrastructure.Jobs;
using Ingestion.Api.Infrastructure.Streaming;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// Validates a stored upload into values and row errors. Safe to run again at any point: it works from the
/// task's committed checkpoint, and a session-level advisory lock keeps two nodes off the same task.
/// </summary>
public sealed class UploadTaskRunner(NpgsqlDataSource dataSource, IndexBuildConnections indexBuilds, IOptions<IngestOptions> options,
    IOptions<UploadLimits> limitOptions, DatasetItemKeyCache itemKeys, ILogger<UploadTaskRunner> logger)
    : ITaskRunner
{
    public async Task RunAsync(Guid taskId, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        var lockKey = LockKey(taskId);
        if (!await conn.ScalarAsync<bool>("SELECT pg_try_advisory_lock($1)", ct, lockKey))
        {
            logger.LogInformation("Task {TaskId} is being processed by another worker", taskId);
            return;
        }
        try
        {
            await ProcessAsync(conn, taskId, ct);
        }
        catch (Exception e) when (!IsTransient(e, ct))
        {
            // A retry would fail the same way: end the task visibly instead of leaving it IN_PROGRESS forever.
            // Everything committed before the failure stays stored and counted.
            logger.LogError(e, "Task {TaskId} failed", taskId);
            await using var fail = dataSource.CreateCommand("""
                UPDATE tasks SET status = 'FAILED', completed_at = now(), failure_reason = $2
                WHERE task_id = $1 AND status IN ('QUEUED', 'IN_PROGRESS')
                """);
            fail.Parameters.Add(new NpgsqlParameter { Value = taskId });
            fail.Parameters.Add(new NpgsqlParameter
            {
                Value = PgText.Storable($"Processing stopped on an unexpected error ({e.GetType().Name}: {e.Message}). " +
                                        "Rows before the last checkpoint were stored and are counted; quote the task id when reporting this."),
            });
            await fail.ExecuteNonQueryAsync(CancellationToken.None);
        }
        finally
        {
            if (conn.State == System.Data.ConnectionState.Open)
            {
                await conn.ScalarAsync<bool>("SELECT pg_advisory_unlock($1)", CancellationToken.None, lockKey);
            }
        }
    }

    private async Task ProcessAsync(NpgsqlConnection conn, Guid taskId, CancellationToken ct)
    {
        var task = await LoadAsync(conn, taskId, ct);
        if (task is null)
        {
            return;
        }
        if (TaskStatuses.IsFinished(task.Status))
        {
            await conn.ExecuteAsync("DELETE FROM upload_chunks WHERE task_id = $1", ct, taskId);
            return;
        }
        if (task.Status is not (TaskStatuses.Queued or TaskStatuses.InProgress))
        {
            return;
        }
        // One task of a field at a time: a bulk load is exact only while it is the one writer of the field's table,
        // and a later upload must see the table indexed. A task waits here, still QUEUED, for the one before it.
        await conn.ExecuteUntimedAsync("SELECT pg_advisory_lock($1, $2)", ct, FieldLockClass, FieldLockKey(task.Field.FieldId));
        try
        {
            await ProcessLockedAsync(conn, task, ct);
        }
        catch (Exception e) when (!IsTransient(e, ct) && !task.IsDryRun)
        {
            // The task is about to end FAILED with what it stored counted: index and attach the field's table now, so
            // those values are readable instead of waiting for the field's next upload. Still under the field's lock.
            try
            {
                await FieldValueTables.IndexAndAttachAsync(dataSource, indexBuilds, task.Field, options.Value.IndexBuilds, ct);
                await FieldValueTables.IndexAndSwapInReloadAsync(dataSource, indexBuilds, task.Field, options.Value.IndexBuilds, ct);
            }
            catch (Exception indexing) when (!ct.IsCancellationRequested)
            {
                logger.LogError(indexing, "Task {TaskId}: indexing field {FieldId} after a failure failed too; its next upload will", task.TaskId, task.Field.FieldId);
            }
            SliceSpill.Remove(SpillFolder(task.TaskId));
            throw;
        }
        finally
        {
            if (conn.State == System.Data.ConnectionState.Open)
            {
                await conn.ExecuteAsync("SELECT pg_advisory_unlock($1, $2)", CancellationToken.None, FieldLockClass, FieldLockKey(task.Field.FieldId));
            }
        }
    }

    private async Task ProcessLockedAsync(NpgsqlConnection conn, LoadedTask task, CancellationToken ct)
    {
        var taskId = task.TaskId;
        var timings = new IngestTimings();
        await conn.ExecuteAsync("""
            UPDATE tasks SET status = 'IN_PROGRESS', started_at = coalesce(started_at, now())
            WHERE task_id = $1 AND status = 'QUEUED'
            """, ct, taskId);
        var choosing = Stopwatch.GetTimestamp();
        var bulk = await ChooseLoadAsync(conn, task, ct);
        timings.Ledger += Stopwatch.GetElapsedTime(choosing);
        await conn.ExecuteAsync("UPDATE tasks SET load_phase = CASE WHEN $2 THEN 'loading' END, load_passes = $3 WHERE task_id = $1", ct,
            taskId, bulk is not null, bulk?.Passes ?? 1);
        await conn.ExecuteAsync(ValueBatch.CreateStagingSql, ct);

        var started = Stopwatch.GetTimestamp();
        var passes = bulk?.Passes ?? 1;
        (long RowsRead, MalformedFileException? Broken) read = default;
        MediaValueLedger? ledger = null;
        // The later passes' items are picked out on a connection of their own while the first pass runs.
        await using var prefetchConnection = passes > 1 ? await dataSource.OpenConnectionAsync(ct) : null;
        Task? prefetch = null;
        var limits = limitOptions.Value;
        // Three batches circulate (one filling, one waiting, one flushing) and are reused from batch to batch and pass
        // to pass, so memory does not grow with the file.
        var batches = Enumerable.Range(0, 3)
            .Select(_ => new ValueBatch(task.Field, taskId, task.WorkspaceId, limits.MaxValueLength, task.IsDryRun)).ToArray();
        try
        {
            for (var pass = Math.Min(task.LoadPass, passes - 1); pass < passes; pass++)
            {
                if (bulk is not null)
                {
                    var loading = Stopwatch.GetTimestamp();
                    if (prefetch is not null)
                    {
                        await prefetch;
                    }
                    // A reload's first pass shows its copy of the field's values as the first half of its preparing.
                    var progress = new LedgerProgress(dataSource, taskId, from: bulk.Reload && pass == 0 && task.RowsProcessed == 0 ? 0.5 : 0);
                    ledger = await MediaValueLedger.LoadAsync(conn, task.Field.DatasetId, task.Field.FieldId, taskId, new LedgerSlice(pass, passes),
                        bulk.Items, bulk.TableHasRows, ledger, prefetch is null ? null : prefetchConnection, itemKeys, progress, ct, bulk.Reload);
                    await progress.CompleteAsync();
                    prefetch ??= pass + 1 < passes
                        ? MediaValueLedger.PrefetchAsync(prefetchConnection!, task.Field.DatasetId, pass + 1, passes, ct)
                        : null;
                    timings.Ledger += Stopwatch.GetElapsedTime(loading);
                    var gc = GC.GetGCMemoryInfo();
                    logger.LogDebug("Task {TaskId} pass {Pass} of {Passes} bulk-loads against {Items} media items (managed heap {Heap} MB, committed {Committed} MB, fragmented {Fragmented} MB)",
                        taskId, pass + 1, passes, ledger.Items, gc.HeapSizeBytes >> 20, gc.TotalCommittedBytes >> 20, gc.FragmentedBytes >> 20);
                }
                var from = pass == task.LoadPass ? task.RowsProcessed : 0;
                // Only a first pass read whole here can leave later passes their rows; a later pass without its spill
                // (resumed elsewhere, or after a first pass that could not spill) parses the upload again.
                using var spill = passes > 1 && pass == 0 && from == 0 ? StartSpill(taskId, passes) : null;
                using var spilled = passes > 1 && pass > 0 ? SliceSpill.TryOpen(SpillFolder(taskId), pass, task.UploadBytes) : null;
                if (passes > 1)
                {
                    logger.LogDebug("Task {TaskId} pass {Pass} reads {Source}", taskId, pass + 1,
                        spilled is not null ? "the rows the first pass spilled for it" : spill is not null ? "the upload, spilling later slices' rows" : "the upload");
                }
                foreach (var batch in batches)
                {
                    batch.ForPass(ledger, spill, bulk?.Reload == true);
                }
                read = await LoadPassAsync(conn, task, bulk is not null, batches, from, spilled, timings, ct);
                if (spill is not null)
                {
                    if (read.Broken is null)
                    {
                        spill.Seal(read.RowsRead);
                    }
                    else
                    {
                        spill.Abandon(); // later passes parse the upload, and end where it broke, as the first did
                    }
                }
                if (pass + 1 < passes)
                {
                    // The pass's last batch committed its checkpoint at the end of the file; should the node die before this,
                    // the resumed job reads the file once more finding every row done, and moves on here.
                    await conn.ExecuteAsync("UPDATE tasks SET load_pass = $2, rows_processed = 0, bytes_processed = 0, load_prepared = 0 WHERE task_id = $1", ct,
                        taskId, pass + 1);
                }
            }
        }
        finally
        {
            // A pass that failed may leave the prefetch running on its connection: let it end before the connection
            // goes; its own outcome no longer matters.
            if (prefetch is not null)
            {
                await prefetch.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            // The pooled connection would otherwise keep millions of ids in its session until it is reused.
            // After a failure the session may be gone with the database: then so is the table.
            if (prefetchConnection is { State: System.Data.ConnectionState.Open })
            {
                try
                {
                    await MediaValueLedger.DropPrefetchedAsync(prefetchConnection, CancellationToken.None);
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
                {
                }
            }
        }
        if (bulk is not null)
        {
            var indexing = Stopwatch.GetTimestamp();
            await conn.ExecuteAsync("UPDATE tasks SET load_phase = 'indexing' WHERE task_id = $1", ct, taskId);
            await using (var progress = IndexBuildProgress.Start(dataSource, taskId, task.Field, bulk.Reload))
            {
                if (bulk.Reload)
                {
                    await FieldValueTables.IndexAndSwapInReloadAsync(dataSource, indexBuilds, task.Field, options.Value.IndexBuilds, ct);
                }
                else
                {
                    await FieldValueTables.IndexAndAttachAsync(dataSource, indexBuilds, task.Field, options.Value.IndexBuilds, ct);
                }
                await progress.CompleteAsync();
            }
            timings.Index += Stopwatch.GetElapsedTime(indexing);
        }
        if (!task.IsDryRun)
        {
            var analyzing = Stopwatch.GetTimestamp();
            try
            {
                await FieldValueTables.AnalyzeIfGrownAsync(conn, task.Field,
                    await conn.ScalarAsync<long>("SELECT inserted_rows FROM tasks WHERE task_id = $1", ct, taskId), ct, swappedIn: bulk?.Reload == true);
            }
            catch (PostgresException e)
            {
                // The values are committed; statistics that could not be gathered now are autovacuum's to gather.
                logger.LogWarning(e, "Task {TaskId}: gathering statistics on field {FieldId}'s values failed", taskId, task.Field.FieldId);
            }
            timings.Analyze += Stopwatch.GetElapsedTime(analyzing);
        }
        await FinishAsync(conn, task, read.RowsRead, read.Broken, ct);
        if (passes > 1)
        {
            SliceSpill.Remove(SpillFolder(taskId));
        }
        logger.LogInformation("Task {TaskId}: {Rows} rows in {Seconds:F2}s{Passes}{Broken}", taskId, read.RowsRead,
            Stopwatch.GetElapsedTime(started).TotalSeconds, passes > 1 ? $", {passes} passes" : "",
            read.Broken is null ? "" : $"; file broken: {read.Broken.Message}");
        logger.LogDebug("Task {TaskId} phases: {Timings}", taskId, timings);
        // The stored upload goes after the status has committed, so the task shows finished without waiting for it
        // (deleting a 667 MB upload took 4 s). Should the node die in between, the stranded-task sweeper drops it.
        await conn.ExecuteAsync("DELETE FROM upload_chunks WHERE task_id = $1", ct, taskId);
    }

    private string SpillFolder(Guid taskId) => SliceSpill.FolderOf(options.Value.SpillRoot, taskId);

    private SliceSpill? StartSpill(Guid taskId, int passes)
    {
        try
        {
            return SliceSpill.Start(SpillFolder(taskId), passes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Task {TaskId}: no spill folder; each pass will parse the upload", taskId);
            return null;
        }
    }

    /// <summary>
    /// One pass over the stored upload, from the checkpoint <paramref name="rowsProcessed"/> of this pass, or over the
    /// rows the first pass <paramref name="spilled"/> for this one.
    /// </summary>
    private async Task<(long RowsRead, MalformedFileException? Broken)> LoadPassAsync(NpgsqlConnection conn, LoadedTask task, bool bulk,
        IReadOnlyList<ValueBatch> batches, long rowsProcessed, SliceSpill.SpilledRowReader? spilled, IngestTimings timings, CancellationToken ct)
    {
        var limits = limitOptions.Value;
        // The file is read on a connection of its own, so reading the next batch overlaps with the database work
        // on this one, which holds the task's lock and the staging table.
        await using var readConnection = spilled is null ? await dataSource.OpenConnectionAsync(ct) : null;
        // A bulk load fetches ahead: the set-wise SQL path's database stage is slow enough that reading never waits.
        await using var file = readConnection is null ? null : new UploadChunkStream(readConnection, task.TaskId, fetchAhead: bulk);
        using var parsed = file is null ? null : UploadFormats.Open(file, task.Format, task.Compression, task.Field.IsMulti, limits);
        IUploadRowReader reader = spilled ?? (IUploadRowReader)parsed!;

        // Two stages joined by a channel of one batch: while the database copies, classifies and commits batch n,
        // batch n+1 is parsed and validated. Batches still commit one by one in file order, each with its own
        // checkpoint in its own transaction, so a crash resumes exactly as before.
        var full = Channel.CreateBounded<ValueBatch>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        var empty = Channel.CreateUnbounded<ValueBatch>();
        foreach (var batch in batches)
        {
            batch.Clear();
            empty.Writer.TryWrite(batch);
        }
        var pace = new BatchPace(Math.Max(1, options.Value.BatchRows));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reading = Task.Run(() => ReadBatchesAsync(reader, task.Field.OptionTexts, rowsProcessed, limits.MaxRows, pace, empty.Reader, full.Writer, timings, stop.Token), stop.Token);
        try
        {
            var waited = Stopwatch.GetTimestamp();
            await foreach (var batch in full.Reader.ReadAllAsync(ct))
            {
                var flushing = Stopwatch.GetTimestamp();
                timings.DatabaseWaiting += Stopwatch.GetElapsedTime(waited, flushing);
                await batch.FlushAsync(conn, timings, ct);
                pace.Observe(batch.Count, Stopwatch.GetElapsedTime(flushing));
                batch.Clear();
                empty.Writer.TryWrite(batch);
                waited = Stopwatch.GetTimestamp();
            }
        }
        catch
        {
            await stop.CancelAsync();
            await Task.WhenAny(reading); // let it end before its connection is disposed; its own error is secondary
            throw;
        }
        return await reading;
    }

    // Reload: into the field's reload table, over a copy of its values (ChooseReloadAsync).
    private sealed record BulkLoad(int Passes, long Items, bool TableHasRows, bool Reload = false);

    /// <summary>
    /// A field's first real upload is a bulk load (a ledger of the dataset's items, COPY into the unindexed table,
    /// indexes at the end), in as many passes as the dataset has ledgers' worth of items. Everything else goes through
    /// the indexed table, which is first indexed and attached if an earlier bulk load stopped before doing so. A dry run
    /// on an empty field leaves the table alone, so the real upload after it can still bulk-load.
    /// </summary>
    private async Task<BulkLoad?> ChooseLoadAsync(NpgsqlConnection conn, LoadedTask task, CancellationToken ct)
    {
        if (await FieldValueTables.IsIndexedAsync(conn, task.Field.FieldId, ct))
        {
            return await ChooseReloadAsync(conn, task, ct);
        }
        if (CanBulkLoad(task) && (options.Value.BulkLoadMaxItems > 0 || task.LoadPhase is not null))
        {
            // Counted first, so a dataset past the bound costs one row read, not gigabytes read and thrown away.
            var items = await MediaValueLedger.CountItemsAsync(conn, task.Field.DatasetId, ct);
            // A resumed bulk load keeps the passes it started with: they decide which rows its checkpoints cover.
            if (task.LoadPhase is not null)
            {
                return new BulkLoad(task.LoadPasses, items, await FieldValueTables.HasValuesAsync(conn, task.Field.FieldId, ct));
            }
            if (await PassesAsync(conn, task, items, ct) is { } passes)
            {
                return new BulkLoad(passes, items, await FieldValueTables.HasValuesAsync(conn, task.Field.FieldId, ct));
            }
        }
        if (!task.IsDryRun || await FieldValueTables.HasValuesAsync(conn, task.Field.FieldId, ct))
        {
            await FieldValueTables.IndexAndAttachAsync(dataSource, indexBuilds, task.Field, options.Value.IndexBuilds, ct);
        }
        return null;
    }

    /// <summary>
    /// Whether <paramref name="task"/> may be bulk-loaded at all, first upload or reload: a dry run stores nothing, and
    /// the ledger records the row that claimed each item as an int, so the file's rows must be capped below that.
    /// </summary>
    private bool CanBulkLoad(LoadedTask task) => !task.IsDryRun && limitOptions.Value.MaxRows < int.MaxValue;

    /// <summary>
    /// How many passes a bulk load of <paramref name="task"/> into a dataset of <paramref name="items"/> items takes,
    /// one per ledger's worth of them; null when the set-wise SQL path suits it better. A load in passes reads every
    /// item id of the dataset twice (one scan picks the slices out, each pass reads its own) and later slices' rows
    /// twice (parsed and spilled in the first pass, read back in their own), so passes pay only for an upload that
    /// names a good share of the dataset: at least a quarter as many rows as it has items, counting rows of 64 bytes
    /// or more. Past BulkLoadMaxPasses, never.
    /// </summary>
    private async Task<int?> PassesAsync(NpgsqlConnection conn, LoadedTask task, long items, CancellationToken ct)
    {
        var (perPass, maxPasses) = (options.Value.BulkLoadMaxItems, Math.Max(1, options.Value.BulkLoadMaxPasses));
        var passes = (int)Math.Max(1, (items + perPass - 1) / Math.Max(1, perPass));
        return passes <= maxPasses && (passes == 1 || (task.UploadBytes / 64 * 4 >= items && await LedgerSlice.AgreesWithServerAsync(conn, ct)))
            ? passes
            : null;
    }

    /// <summary>
    /// A later upload to an indexed field is bulk-loaded too when it is large beside what the field holds: into the
    /// field's reload table, which starts as a copy of the field's values and is indexed and swapped in at the end
    /// (migration 0021), so the field's values stay readable meanwhile. Building the indexes over old and new values at
    /// once costs less than inserting into them row by row once the upload holds at least half as many rows as the field
    /// has values (<see cref="IngestOptions.ReloadMinRows"/> and below). A large dataset is reloaded in passes on the
    /// same terms as a first upload. Null: the SQL path through the indexed table.
    /// </summary>
    private async Task<BulkLoad?> ChooseReloadAsync(NpgsqlConnection conn, LoadedTask task, CancellationToken ct)
    {
        var fieldId = task.Field.FieldId;
        if (task.LoadReload)
        {
            // Resumed: the reload table holds the values before it and what this task stored, in the passes it chose.
            // Once swapped in, what is left is the task's end, which the SQL path reaches reading nothing past the last
            // checkpoint.
            return await FieldValueTables.HasReloadTableAsync(conn, fieldId, ct)
                ? new BulkLoad(task.LoadPasses, await MediaValueLedger.CountItemsAsync(conn, task.Field.DatasetId, ct), TableHasRows: true, Reload: true)
                : null;
        }
        var minRows = options.Value.ReloadMinRows;
        // Counting 64 bytes a row, as for passes (a JSON row of an id and a number is about 67).
        var rows = task.UploadBytes / 64;
        if (!CanBulkLoad(task) || minRows <= 0 || options.Value.BulkLoadMaxItems <= 0 || rows < minRows)
        {
            return null;
        }
        var values = await conn.CountedRowsAsync(FieldValueTables.TableName(fieldId), ct);
        if (values < 0 || rows * 2 < values)
        {
            return null;
        }
        var items = await MediaValueLedger.CountItemsAsync(conn, task.Field.DatasetId, ct);
        if (await PassesAsync(conn, task, items, ct) is not { } passes)
        {
            return null;
        }
        await CopyIntoReloadTableAsync(conn, task, passes, ct);
        return new BulkLoad(passes, items, TableHasRows: true, Reload: true);
    }

    /// <summary>How many of the field table's pages one statement of <see cref="CopyIntoReloadTableAsync"/> copies: 32 MB.</summary>
    private const long ReloadCopyPages = 4096;

    /// <summary>
    /// Creates the field's reload table and copies the field's values into it, in the one transaction that creates it,
    /// which wal_level = minimal does not log (the copy is synced at commit instead), and marks the task as reloading in
    /// it too: a crash leaves either no reload table or a whole copy that the resumed task loads on. The copy goes a run
    /// of pages at a time (a TID range scan each), and its progress shows as the first half of the first pass's
    /// preparing, so a field of millions of values does not hold the status still (about 0.5 s a million).
    /// </summary>
    private async Task CopyIntoReloadTableAsync(NpgsqlConnection conn, LoadedTask task, int passes, CancellationToken ct)
    {
        var (table, reload) = (FieldValueTables.TableName(task.Field.FieldId), FieldValueTables.ReloadTableName(task.Field.FieldId));
        await conn.ExecuteAsync("UPDATE tasks SET load_phase = 'loading', load_passes = $2, load_prepared = 0 WHERE task_id = $1", ct, task.TaskId, passes);
        var progress = new LedgerProgress(dataSource, task.TaskId);
        await using (var tx = await conn.BeginTransactionAsync(ct))
        {
            await conn.ExecuteAsync("SELECT create_field_values_table($1, true)", ct, task.Field.FieldId);
            var pages = await conn.ScalarAsync<long>("SELECT pg_relation_size(to_regclass($1)) / current_setting('block_size')::int", ct, table);
            // The names come from the field id alone; the columns are every column a value has.
            var copy = $"""
                INSERT INTO {reload} (field_id, media_id, task_id, row_index, value_text, value_float, value_datetime, value_enums)
                SELECT field_id, media_id, task_id, row_index, value_text, value_float, value_datetime, value_enums
                FROM {table} WHERE ctid >= ('(' || $1::bigint || ',0)')::tid AND ctid < ('(' || $2::bigint || ',0)')::tid
                """;
            for (long page = 0; page < pages; page += ReloadCopyPages)
            {
                await conn.ExecuteUntimedAsync(copy, ct, page, page + ReloadCopyPages);
                progress.Report(0.5 * Math.Min(page + ReloadCopyPages, pages) / pages);
            }
            await conn.ExecuteAsync("UPDATE tasks SET load_reload = true WHERE task_id = $1", ct, task.TaskId);
            await tx.CommitAsync(ct);
        }
        await progress.CompleteAsync(0.5);
    }

    /// <summary>
    /// The reading stage: parses and validates rows into batches and hands each over sealed with its checkpoint.
    /// The last batch (possibly empty) always goes out, so the checkpoint reaches the end of what could be read.
    /// </summary>
    private static async Task<(long RowsRead, MalformedFileException? Broken)> ReadBatchesAsync(IUploadRowReader reader, OptionTexts? options, long rowsProcessed,
        long maxRows, BatchPace pace, ChannelReader<ValueBatch> empty, ChannelWriter<ValueBatch> full, IngestTimings timings, CancellationToken ct)
    {
        try
        {
            var row = new UploadRow { Options = options };
            long rowsRead = 0;
            MalformedFileException? broken = null;
            var clock = Stopwatch.GetTimestamp();
            var batch = await empty.ReadAsync(ct);
            try
            {
                while (await reader.ReadAsync(row, ct))
                {
                    if (row.RowIndex >= maxRows)
                    {
                        broken = new MalformedFileException(RowErrorCodes.TooManyRows,
                            $"The file has more than {maxRows:N0} rows, the most one upload may hold. The first {maxRows:N0} rows " +
                            "were processed; this row and the ones after it were not. Send them in another task.",
                            row.Line, 1, reader.BytesConsumed);
                        break;
                    }
                    // Rows are counted by their place in the file: a spilled pass reads only some of them.
                    rowsRead = row.RowIndex + 1;
                    if (row.RowIndex < rowsProcessed)
                    {
                        continue; // committed before a crash or restart
                    }
                    batch.Add(row);
                    if (batch.Count >= pace.Rows || batch.Errors >= MaxErrorsPerBatch)
                    {
                        batch.Seal(rowsRead, reader.BytesConsumed);
                        timings.Read += Stopwatch.GetElapsedTime(clock, clock = Stopwatch.GetTimestamp());
                        await full.WriteAsync(batch, ct);
                        batch = await empty.ReadAsync(ct);
                        timings.ReadWaiting += Stopwatch.GetElapsedTime(clock, clock = Stopwatch.GetTimestamp());
                    }
                }
            }
            catch (MalformedFileException e)
            {
                broken = e;
            }
            if (reader is SliceSpill.SpilledRowReader spilled)
            {
                rowsRead = spilled.RowsInFile;
            }
            batch.Seal(rowsRead, reader.BytesConsumed);
            timings.Read += Stopwatch.GetElapsedTime(clock);
            await full.WriteAsync(batch, ct);
            full.Complete();
            return (rowsRead, broken);
        }
        catch (Exception e)
        {
            full.TryComplete(e);
            throw;
        }
    }

    // A row error holds its reason and value as text, several hundred bytes against a stored row's few dozen, so a
    // batch also closes at this many errors: an error-dense stretch of a file (the first pass of a load in passes
    // reports every refused value, 1 row in 2 of what it keeps at 5% invalid) holds no more memory than any other.
    private const int MaxErrorsPerBatch = 2_000;

    /// <summary>
    /// How many rows the next batch takes: Ingestion:Ingest:BatchRows at most, and no more than the database stage
    /// has lately committed in a quarter of a second. A batch is a checkpoint and a progress step, so on a busy server
    /// batches shrink and progress still moves at least once a second; on an idle one they stay large and cheap.
    /// </summary>
    private sealed class BatchPace(int maxRows)
    {
        private const int MinRows = 1_000;
        private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);
        private readonly int _maxRows = maxRows;
        // The first batch is small, so the first progress shows as soon as the job has started; the pace grows from there.
        private int _rows = Math.Min(MinRows * 5, maxRows);

        public int Rows => Volatile.Read(ref _rows);

        public void Observe(int rows, TimeSpan took)
        {
            if (rows < MinRows || took <= TimeSpan.Zero)
            {
                return; // the last, short batch says nothing about the pace
            }
            var fitting = rows * (Step / took);
            Volatile.Write(ref _rows, (int)Math.Clamp(fitting, Math.Min(MinRows, _maxRows), _maxRows));
        }
    }

    private static async Task FinishAsync(NpgsqlConnection conn, LoadedTask task, long rowsRead, MalformedFileException? broken, CancellationToken ct)
    {
        await using var tx = await conn.BeginTransactionAsync(ct);
        var fileErrors = broken is null ? 0 : await RowErrorBlocks.InsertAsync(conn, task.TaskId, task.WorkspaceId,
            [new RowErrorEntry(rowsRead, broken.Line, null, null, broken.Code, broken.Message, null, broken.Column, IsFileError: true)],
            ct, ifAbsent: true);
        await using (var cmd = new NpgsqlCommand("""
            UPDATE tasks SET
                error_count = error_count + $3,
                total_rows = $2,
                status = CASE
                    WHEN $4::text IS NOT NULL AND $2 = 0 THEN 'FAILED'
                    WHEN error_count + $3 = 0 THEN 'COMPLETED'
                    ELSE 'COMPLETED_WITH_ERRORS' END,
                failure_reason = CASE WHEN $4::text IS NOT NULL AND $2 = 0 THEN $5 END,
                bytes_processed = coalesce(upload_bytes, bytes_processed),
                completed_at = now()
            WHERE task_id = $1
            """, conn))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = task.TaskId });
            cmd.Parameters.Add(new NpgsqlParameter { Value = rowsRead });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (long)fileErrors });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)broken?.Code ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)broken?.Message ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await conn.ExecuteAsync("DELETE FROM dry_run_values WHERE task_id = $1", ct, task.TaskId);
        await tx.CommitAsync(ct);
    }

    private sealed record LoadedTask(Guid TaskId, Guid WorkspaceId, string Status, string Format, string? Compression, bool IsDryRun,
        long RowsProcessed, FieldDefinition Field, long UploadBytes, string? LoadPhase, int LoadPass, int LoadPasses, bool LoadReload);

    private static async Task<LoadedTask?> LoadAsync(NpgsqlConnection conn, Guid taskId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT t.workspace_id, t.status, coalesce(t.upload_format, 'json'), t.rows_processed,
                   f.field_id, f.dataset_id, f.field_name, f.field_type, f.is_multi, coalesce(f.enum_options, '{}'),
                   t.upload_compression, t.dry_run_of IS NOT NULL,
                   coalesce(t.upload_bytes, 0), t.load_phase, t.load_pass, t.load_passes, t.load_reload
            FROM tasks t JOIN fields f ON f.field_id = t.field_id
            WHERE t.task_id = $1
            """, conn) { Parameters = { new() { Value = taskId } } };
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct))
        {
            return null;
        }
        var field = new FieldDefinition
        {
            FieldId = r.GetGuid(4),
            DatasetId = r.GetGuid(5),
            Name = r.GetString(6),
            Type = FieldDefinition.ParseType(r.GetString(7))!.Value,
            IsMulti = r.GetBoolean(8),
            EnumOptions = r.GetFieldValue<string[]>(9),
        };
        return new LoadedTask(taskId, r.GetGuid(0), r.GetString(1), r.GetString(2), r.IsDBNull(10) ? null : r.GetString(10), r.GetBoolean(11),
            r.GetInt64(3), field, r.GetInt64(12), r.IsDBNull(13) ? null : r.GetString(13), r.GetInt32(14), r.GetInt32(15), r.GetBoolean(16));
    }

    /// <summary>Failures worth a retry: the database went away or the node is stopping. Anything else would fail again.</summary>
    private static bool IsTransient(Exception e, CancellationToken ct) => e switch
    {
        OperationCanceledException => true,
        _ when ct.IsCancellationRequested => true,
        PostgresException pg => pg.SqlState.StartsWith("08") || pg.SqlState.StartsWith("57") || pg.SqlState is "40001" or "40P01",
        NpgsqlException { IsTransient: true } => true,
        NpgsqlException { InnerException: IOException or System.Net.Sockets.SocketException or TimeoutException } => true,
        IOException or System.Net.Sockets.SocketException or TimeoutException => true,
        _ => false,
    };

    // The two-key advisory lock space is apart from the one-key space of task locks; this class marks field locks.
    private const int FieldLockClass = 0x1A65;

    private static int FieldLockKey(Guid fieldId)
    {
        var key = LockKey(fieldId);
        return (int)key ^ (int)(key >> 32);
    }

    /// <summary>Advisory locks take a bigint; fold the id (a task's, or a field's for its lock) into one.</summary>
    private static long LockKey(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        return BitConverter.ToInt64(bytes[..8]) ^ BitConverter.ToInt64(bytes[8..]);
    }

}
