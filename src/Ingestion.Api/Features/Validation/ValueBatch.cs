using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Ingestion.Api.Features.Errors;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Infrastructure.Database;
using Npgsql;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// The rows of one checkpoint. Type errors are found here in C#. Media existence and one-value-per-item are decided
/// either in C# against the <see cref="MediaValueLedger"/> of a bulk load (a field's first upload, COPY straight into
/// the field's unindexed table), or set-wise in SQL against the indexed table. A flush commits the values, the row
/// errors and the task's checkpoint in one transaction, so after a crash the job resumes at the checkpoint and every
/// count stays exact. A dry run classifies exactly as a real upload would, but records would-be values in
/// dry_run_values, never in field_values.
/// </summary>
internal sealed class ValueBatch(FieldDefinition field, Guid taskId, Guid workspaceId, int maxStringLength = ValueValidator.MaxStringLength,
    bool dryRun = false)
{
    // LedgerAt: where a bulk load's ledger holds the row's item, looked up when the batch is sealed (-1: not there).
    private record struct StagedValue(long RowIndex, long Line, Guid? MediaId, string? FileName, TypedValue Value, int LedgerAt = -1);

    private readonly List<StagedValue> _staged = [];

    // What a bulk load's flush decided for each staged row: a claim's verdict, or why the row is not this pass's to claim.
    private enum Outcome { Stored = ClaimVerdict.Stored, UnknownItem = ClaimVerdict.UnknownItem, RepeatInFile = ClaimVerdict.RepeatInFile,
        AlreadySet = ClaimVerdict.AlreadySet, OtherPass, UnknownName }

    private readonly record struct RowOutcome(Outcome Outcome, Guid MediaId, long PriorRow);

    private readonly List<RowOutcome> _outcomes = [];
    private bool _claimed;
    private MediaValueLedger? _ledger;
    private SliceSpill? _spill;
    private string? _classifySql;
    private readonly List<RowErrorEntry> _errors = [];
    private bool _hasFileNames;

    public int Count => _staged.Count + _errors.Count;

    /// <summary>The rows refused so far, each with its reason.</summary>
    public int Errors => _errors.Count;

    /// <summary>
    /// Points the batch at a pass: a bulk load's ledger for it (none: the SQL path) and, in a first pass, the spill of
    /// the later slices' rows. The task's batches are kept from pass to pass, so their lists, grown to a batch's size
    /// once, are not allocated again per pass.
    /// </summary>
    public void ForPass(MediaValueLedger? passLedger, SliceSpill? passSpill, bool reload = false)
    {
        _ledger = passLedger;
        _spill = passSpill;
        _bulkTable = FieldValueTables.BulkTableName(field.FieldId, reload);
    }

    // Where a bulk load's rows go: the field's table, or its reload table (FieldValueTables.ReloadTableName).
    private string _bulkTable = FieldValueTables.TableName(field.FieldId);

    /// <summary>The checkpoint this batch commits: every row before it is done once the batch is.</summary>
    public long RowsProcessed { get; private set; }

    public long BytesProcessed { get; private set; }

    public void Add(UploadRow row)
    {
        TypedValue value = default;
        var error = ValueValidator.CheckShape(row) ?? ValueValidator.Validate(field, row, out value, maxStringLength);
        // A bulk load in passes decides a row in the pass of its item's slice, and a row refused before its item matters
        // (a bad value, no usable id) in the first pass. The first pass may spill each later slice's rows for its pass.
        // A row named by file_name is kept until its name is resolved, which the spill cannot wait for.
        if (_ledger is { Slice: { Passes: > 1 } slice })
        {
            if (error is null && row.MediaIdState == MediaIdState.Valid && slice.PassOf(row.MediaId) is var pass && pass != slice.Pass)
            {
                if (_spill is { Active: true })
                {
                    _spill.Write(pass, row);
                }
                return;
            }
            if (error is not null && slice.Pass != 0)
            {
                return;
            }
            if (error is null && row.MediaIdState != MediaIdState.Valid)
            {
                _spill?.Abandon();
            }
        }
        if (error is { } e)
        {
            var mediaId = row.MediaIdState == MediaIdState.Valid ? row.MediaId.ToString() : row.MediaIdText ?? row.FileName;
            var fileName = row.MediaIdState == MediaIdState.Missing ? row.FileName : null;
            AddError(row.RowIndex, row.Line, mediaId, fileName, e.Code, e.Reason, ValueValidator.StoredValue(row));
            return;
        }
        var byName = row.MediaIdState != MediaIdState.Valid;
        _hasFileNames |= byName;
        _staged.Add(new StagedValue(row.RowIndex, row.Line, byName ? null : row.MediaId, byName ? row.FileName : null, value));
    }

    /// <summary>Closes the batch at the checkpoint "every row before <paramref name="rowsProcessed"/> is done".</summary>
    public void Seal(long rowsProcessed, long bytesProcessed)
    {
        RowsProcessed = rowsProcessed;
        BytesProcessed = bytesProcessed;
        // A bulk load's rows learn where the ledger holds their items here, on the reading stage, which has time to
        // spare; the database stage, which paces the load, only claims them. A lookup is two dependent cache misses in
        // a 16 MB array (about 0.4 s per million rows measured on that stage); the ledger takes them a group at a time
        // so that a group's misses overlap (MediaValueLedger.FindMany). The ledger's ids stay as they are for the whole
        // pass. Each row's entry is set in place, not copied whole (about 100 bytes) twice to set one field.
        if (_ledger is { } ledger)
        {
            var staged = CollectionsMarshal.AsSpan(_staged);
            Span<Guid> ids = stackalloc Guid[MediaValueLedger.LookupGroup];
            Span<int> rows = stackalloc int[MediaValueLedger.LookupGroup];
            Span<int> found = stackalloc int[MediaValueLedger.LookupGroup];
            var n = 0;
            for (var i = 0; i < staged.Length; i++)
            {
                if (staged[i].MediaId is { } id)
                {
                    ids[n] = id;
                    rows[n++] = i;
                }
                if (n == ids.Length || (n > 0 && i == staged.Length - 1))
                {
                    ledger.FindMany(ids[..n], found);
                    for (var k = 0; k < n; k++)
                    {
                        staged[rows[k]].LedgerAt = found[k];
                    }
                    n = 0;
                }
            }
            // The rows are claimed here too, unless a row of this pass named its item by file name, which only the
            // database resolves: the database stage then only writes the rows out (claims and their refusals took
            // 0.08-0.10 s of it per million rows, with PostgreSQL idle meanwhile).
            ledger.ClaimsAtFlush |= _hasFileNames;
            if (!ledger.ClaimsAtFlush)
            {
                Claim(ledger, byName: null);
            }
        }
    }

    /// <summary>Empties a flushed batch so the runner can fill it again: batches are reused, so memory stays flat.</summary>
    public void Clear()
    {
        _staged.Clear();
        _errors.Clear();
        _hasFileNames = false;
        _claimed = false;
    }

    /// <summary>Commits the rows, their errors and the batch's checkpoint in one transaction.</summary>
    public async Task FlushAsync(NpgsqlConnection conn, IngestTimings timings, CancellationToken ct)
    {
        if (_ledger is not null)
        {
            await FlushBulkAsync(conn, _ledger, timings, ct);
            return;
        }
        var clock = Stopwatch.GetTimestamp();
        await using var tx = await conn.BeginTransactionAsync(ct);
        // A batch touches a few thousand items of a dataset that may hold millions. Left to itself the planner
        // hash-joins the batch against an index scan of every item of the dataset, once per batch; key probes per
        // staged row cost a fraction of that (measured: 220 ms against 80 ms for 20,000 rows on 1,000,000 items).
        await using (var relaxed = new NpgsqlCommand(
            "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off", conn))
        {
            await relaxed.ExecuteNonQueryAsync(ct);
        }
        long errors = _errors.Count, inserted = 0;
        if (_staged.Count > 0)
        {
            await CopyStagedAsync(conn, ct);
            timings.Copy += Stopwatch.GetElapsedTime(clock, clock = Stopwatch.GetTimestamp());
            if (_hasFileNames)
            {
                // A probe of the (dataset_id, file_name) key per unresolved row (media_id_by_name, migration 0020).
                await using var resolve = new NpgsqlCommand(
                    "UPDATE upload_staging SET media_id = media_id_by_name($1, file_name) WHERE media_id IS NULL", conn)
                {
                    Parameters = { new() { Value = field.DatasetId } },
                };
                await resolve.ExecuteNonQueryAsync(ct);
            }
            await using var classify = new NpgsqlCommand(dryRun ? DryRunClassifySql : _classifySql ??= ClassifySql(FieldValueTables.TableName(field.FieldId)), conn)
            {
                Parameters =
                {
                    new() { Value = taskId }, new() { Value = field.DatasetId },
                    new() { Value = field.FieldId }, new() { Value = workspaceId },
                },
            };
            await using (var reader = await classify.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                errors += reader.GetInt64(0);
                inserted = reader.GetInt64(1);
            }
            timings.Classify += Stopwatch.GetElapsedTime(clock, clock = Stopwatch.GetTimestamp());
        }
        await CommitAsync(conn, inserted, errors, ct);
        timings.Commit += Stopwatch.GetElapsedTime(clock);
    }

    /// <summary>
    /// Ends the batch's transaction in one round trip: its row errors found in C# as one block, its checkpoint, and the
    /// commit, which is sent with them instead of after them (two round trips a batch fewer, on the stage that paces a
    /// bulk load). Should any of them fail, PostgreSQL skips the rest, the commit included, and the caller's transaction
    /// rolls back when disposed. The commit does not wait for its WAL to reach the disk: values, row errors and
    /// checkpoint are one transaction, so a crash can only lose whole batches, which the resumed job redoes from the last
    /// durable checkpoint. The task's final status is committed durably, and that makes every batch before it durable.
    /// synchronous_commit is read at the commit, so setting it here is as good as first.
    /// </summary>
    private async Task CommitAsync(NpgsqlConnection conn, long inserted, long errors, CancellationToken ct)
    {
        await using var end = new NpgsqlBatch(conn);
        if (_errors.Count > 0)
        {
            // In row order: a bulk load refuses rows for their item after those it refused for their value, which may
            // come later in the file.
            _errors.Sort(static (a, b) => a.RowIndex.CompareTo(b.RowIndex));
            end.BatchCommands.Add(RowErrorBlocks.InsertCommand(taskId, workspaceId, _errors));
        }
        end.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('synchronous_commit', 'off', true)"));
        end.BatchCommands.Add(new NpgsqlBatchCommand("""
            UPDATE tasks
            SET rows_processed = $2, bytes_processed = $3,
                inserted_rows = inserted_rows + $4, error_count = error_count + $5
            WHERE task_id = $1
            """)
        {
            Parameters =
            {
                new() { Value = taskId }, new() { Value = RowsProcessed }, new() { Value = BytesProcessed },
                new() { Value = inserted }, new() { Value = errors },
            },
        });
        end.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await end.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// A bulk load's flush: the rows the ledger let through (<see cref="Claim"/>, when the batch was sealed or, for rows
    /// named by file name, here) are COPYed straight into the field's table or its reload table, which has no index yet,
    /// with the refused rows' errors and the checkpoint. The ledger is updated before the commit; if the commit fails
    /// the job stops and a new run reloads the ledger from what was committed.
    /// </summary>
    private async Task FlushBulkAsync(NpgsqlConnection conn, MediaValueLedger ledger, IngestTimings timings, CancellationToken ct)
    {
        var clock = Stopwatch.GetTimestamp();
        await using var tx = await conn.BeginTransactionAsync(ct);
        if (!_claimed)
        {
            Claim(ledger, _hasFileNames ? await ResolveFileNamesAsync(conn, ct) : null);
        }
        long inserted = 0;
        // Only what differs from row to row: the table defaults the field (migration 0014), and the typed columns
        // other than the field's are NULL.
        var column = field.ValueColumn;
        await using (var w = await BinaryCopyWriter.BeginAsync(conn, $"""
            COPY {_bulkTable} (media_id, task_id, row_index, {column}) FROM STDIN (FORMAT BINARY)
            """, ct))
        {
            for (var i = 0; i < _outcomes.Count; i++)
            {
                if (_outcomes[i].Outcome != Outcome.Stored)
                {
                    continue;
                }
                var s = _staged[i];
                w.StartRow(4);
                w.WriteUuid(_outcomes[i].MediaId);
                w.WriteUuid(taskId);
                w.WriteInt64(s.RowIndex);
                switch (column)
                {
                    case "value_float": w.WriteDouble(s.Value.Float!.Value); break;
                    case "value_datetime": w.WriteTimestampTz(s.Value.Timestamp!.Value); break;
                    case "value_enums": w.WriteInt16Array(s.Value.EnumNumbers!); break;
                    default: w.WriteText(s.Value.Text!); break;
                }
                inserted++;
                await w.FlushIfFullAsync(ct);
            }
            await w.CompleteAsync(ct);
        }
        timings.Copy += Stopwatch.GetElapsedTime(clock, clock = Stopwatch.GetTimestamp());
        await CommitAsync(conn, inserted, _errors.Count, ct);
        timings.Commit += Stopwatch.GetElapsedTime(clock);
    }

    /// <summary>
    /// Decides each staged row against the ledger in file order, so the first row for an item wins, as in the SQL
    /// classify, and records the refusals. <paramref name="byName"/>: the items of the rows named by file name.
    /// </summary>
    private void Claim(MediaValueLedger ledger, Dictionary<string, Guid>? byName)
    {
        // Every claim first, in a loop of its own: a claim is a read of a 4 MB array at random, and with nothing else
        // in the loop the processor has several of them in flight at once.
        _outcomes.Clear();
        foreach (var s in _staged)
        {
            var mediaId = s.MediaId ?? (byName is not null && byName.TryGetValue(PgText.Storable(s.FileName)!, out var id) ? id : null);
            if (s.MediaId is null && (mediaId is { } named ? !ledger.Slice.Contains(named) : ledger.Slice.Pass != 0))
            {
                // Another pass's row, or an unknown name already reported in the first pass.
                _outcomes.Add(new RowOutcome(Outcome.OtherPass, default, -1));
            }
            else if (mediaId is not { } m)
            {
                _outcomes.Add(new RowOutcome(Outcome.UnknownName, default, -1));
            }
            else
            {
                var verdict = ledger.ClaimAt(s.MediaId is null ? ledger.Find(m) : s.LedgerAt, s.RowIndex, out var priorRow);
                _outcomes.Add(new RowOutcome((Outcome)verdict, m, priorRow));
            }
        }
        for (var i = 0; i < _outcomes.Count; i++)
        {
            var (outcome, m, _) = _outcomes[i];
            if (outcome != Outcome.Stored && Refusal(_staged[i], _outcomes[i]) is var (code, reason))
            {
                Refuse(_staged[i], outcome == Outcome.UnknownName ? null : m, code, reason);
            }
        }
        _claimed = true;
    }

    /// <summary>Why a bulk load refuses a row, as the SQL classify words it; null for a row stored or left to another pass.</summary>
    private static (string Code, string Reason)? Refusal(StagedValue s, RowOutcome o) => o.Outcome switch
    {
        Outcome.UnknownName => (RowErrorCodes.MediaNotFound,
            $"No media item named {JsonSerializer.Serialize(s.FileName, ErrorJson)} is registered in this dataset. Register it first, or fix the file_name."),
        Outcome.UnknownItem => (RowErrorCodes.MediaNotFound,
            $"No media item with media_id {o.MediaId} is registered in this dataset. Register it first, or fix the id."),
        Outcome.RepeatInFile => (RowErrorCodes.DuplicateMediaId,
            $"media_id {o.MediaId} already has a value from row {o.PriorRow} of this file; a media item holds one value per field. Keep one of the rows."),
        Outcome.AlreadySet => (RowErrorCodes.ValueAlreadySet,
            $"media_id {o.MediaId} already has a value for this field from an earlier upload; values are immutable. Drop this row."),
        _ => null,
    };

    /// <summary>A refused row reported as the SQL classify reports it: the item's id when known, the value as stored.</summary>
    private void Refuse(StagedValue s, Guid? mediaId, string code, string reason) =>
        AddError(s.RowIndex, s.Line, mediaId?.ToString() ?? s.FileName, s.FileName, code, reason, ShownValue(s.Value));

    private void AddError(long rowIndex, long line, string? mediaId, string? fileName, string code, string reason, string? value) =>
        _errors.Add(new RowErrorEntry(rowIndex, line, mediaId is null ? null : PgText.Storable(ValueValidator.Truncate(mediaId, 200)),
            PgText.Storable(fileName), code, PgText.Storable(reason)!, PgText.Storable(value)));

    /// <summary>
    /// The value as the SQL classify's coalesce(value_text, value_float::text, …) shows it, except that a float is in
    /// .NET's shortest form where PostgreSQL sometimes writes 17 digits (2.5e+22 against 2.4999999999999998e+22): the same double.
    /// </summary>
    private string? ShownValue(TypedValue v) =>
        v.Text
        ?? v.Float?.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e')
        ?? v.Timestamp?.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)
        ?? (v.EnumNumbers is { } e ? JsonSerializer.Serialize(field.OptionNames(e), ErrorJson) : null);

    private static readonly JsonSerializerOptions ErrorJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // media_id_by_name (migration 0020): a probe of the (dataset_id, file_name) key per name, whatever the statistics
    // say. As `dataset_id = $1 AND file_name = ANY($2)` the planner read all of a newly registered dataset's items for
    // each batch and filtered them by name: 99 ms a batch at 400,000 items.
    internal const string ResolveNamesSql = """
        SELECT n.name, media_id_by_name($1, n.name) FROM unnest($2::text[]) n(name)
        """;

    private async Task<Dictionary<string, Guid>> ResolveFileNamesAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var names = _staged.Where(s => s.MediaId is null).Select(s => PgText.Storable(s.FileName)!).Distinct().ToArray();
        var resolved = new Dictionary<string, Guid>(StringComparer.Ordinal);
        await using var cmd = new NpgsqlCommand(ResolveNamesSql, conn)
        {
            Parameters = { new() { Value = field.DatasetId }, new() { Value = names } },
        };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (reader.IsDBNull(1))
            {
                continue;
            }
            resolved[reader.GetString(0)] = reader.GetGuid(1);
        }
        return resolved;
    }

    public const string CreateStagingSql = """
        CREATE TEMP TABLE IF NOT EXISTS upload_staging (
            row_index bigint NOT NULL,
            line bigint,
            media_id uuid,
            file_name text,
            value_text text,
            value_float double precision,
            value_datetime timestamptz,
            value_enums smallint[]
        ) ON COMMIT DELETE ROWS
        """;

    // One statement decides every staged row: unknown item, repeated item (in this file or from an earlier
    // upload), or stored. Window order is file order, so the first row for an item wins.
    // The batch is sorted by item before anything is looked up, so the media probes and the inserts walk the
    // primary keys (media_id first) in order instead of at random.
    // Stored values are not looked up beforehand: the insert's own unique check on the primary key finds them
    // (ON CONFLICT DO NOTHING), so a row costs one probe of field_values rather than two, and only the rows the
    // insert refused (few) are looked up to explain why. Every CTE sees the snapshot from before the insert, so
    // that lookup finds the value that was already there, never the one this statement stores.
    internal static string ClassifySql(string table) => Classify(
        store: $"""
            INSERT INTO {table} (field_id, media_id, task_id, row_index, value_text, value_float, value_datetime, value_enums)
            SELECT $3, media_id, $1, row_index, value_text, value_float, value_datetime, value_enums
            FROM s
            WHERE known AND occurrence = 1
            ON CONFLICT (field_id, media_id) DO NOTHING
            RETURNING media_id
            """,
        existing: """
            SELECT v.task_id AS existing_task, v.row_index AS existing_row
            FROM field_values v
            WHERE refused.known AND v.media_id = refused.media_id AND v.field_id = $3
            LIMIT 1
            """);

    // A dry run records would-be values in dry_run_values and sees both those and the field's stored values, so
    // every verdict is the one a real upload of the same file would get.
    private static readonly string DryRunClassifySql = Classify(
        store: """
            INSERT INTO dry_run_values (task_id, media_id, workspace_id, row_index)
            SELECT $1, media_id, $4, row_index
            FROM s
            WHERE known AND occurrence = 1
              AND NOT EXISTS (SELECT 1 FROM field_values f WHERE f.media_id = s.media_id AND f.field_id = $3)
            ON CONFLICT (task_id, media_id) DO NOTHING
            RETURNING media_id
            """,
        existing: """
            SELECT x.existing_task, x.existing_row
            FROM (SELECT v.task_id AS existing_task, v.row_index AS existing_row
                  FROM field_values v WHERE v.media_id = refused.media_id AND v.field_id = $3
                  UNION ALL
                  SELECT d.task_id, d.row_index
                  FROM dry_run_values d WHERE d.task_id = $1 AND d.media_id = refused.media_id) x
            WHERE refused.known
            LIMIT 1
            """);

    private static string Classify(string store, string existing) => $$"""
        WITH s AS (
            SELECT s.*, coalesce(m.dataset_id = $2, false) AS known
            FROM (
                SELECT s.*, row_number() OVER w AS occurrence, first_value(s.row_index) OVER w AS first_row
                FROM upload_staging s
                WINDOW w AS (PARTITION BY s.media_id ORDER BY s.row_index)
            ) s
            -- A probe of media_items' primary key per staged row, whatever the statistics say: the item is looked up by
            -- its id alone (an id names one item in one dataset) and its dataset checked after. Statistics gathered
            -- before a dataset's items were registered expect one item of it, and stay so until autovacuum analyzes
            -- the table again, which a dataset small beside the table never triggers. Any lookup that names the
            -- dataset then looks as cheap by the dataset alone: the planner read the dataset's items once and filtered
            -- them for every staged row (a join), or read them all for each staged row (a LATERAL probe by dataset and
            -- id); 1,000 rows against 226,000 items took 23 s. LIMIT 1 keeps the LATERAL from being flattened.
            LEFT JOIN LATERAL (SELECT m.dataset_id FROM media_items m WHERE m.media_id = s.media_id LIMIT 1) m ON true
        ),
        inserted AS (
            {{store}}
        ),
        errors AS (
            SELECT row_index, coalesce(media_id::text, file_name) AS media_id, file_name,
                   CASE WHEN NOT known THEN 'media_not_found'
                        WHEN existing_task = $1 OR occurrence > 1 THEN 'duplicate_media_id'
                        ELSE 'value_already_set' END AS error_code,
                   CASE WHEN NOT known AND media_id IS NULL THEN
                            format('No media item named %s is registered in this dataset. Register it first, or fix the file_name.', to_json(file_name))
                        WHEN NOT known THEN
                            format('No media item with media_id %s is registered in this dataset. Register it first, or fix the id.', media_id)
                        WHEN existing_task = $1 THEN
                            format('media_id %s already has a value from row %s of this file; a media item holds one value per field. Keep one of the rows.', media_id, existing_row)
                        WHEN occurrence > 1 THEN
                            format('media_id %s already has a value from row %s of this file; a media item holds one value per field. Keep one of the rows.', media_id, first_row)
                        ELSE
                            format('media_id %s already has a value for this field from an earlier upload; values are immutable. Drop this row.', media_id)
                   END AS reason,
                   coalesce(value_text, value_float::text,
                            to_char(value_datetime AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                            array_to_json(field_value_enum_names($3, value_enums))::text) AS value,
                   line
            FROM (SELECT * FROM s WHERE NOT known OR occurrence > 1 OR media_id NOT IN (SELECT media_id FROM inserted)) refused
            -- LATERAL ... LIMIT 1: a key probe per refused row, never a scan of the field's values.
            LEFT JOIN LATERAL (
                {{existing}}
            ) v ON true
        ),
        error_block AS (
            {{RowErrorBlocks.InsertFromErrorsCteSql}}
        )
        SELECT (SELECT coalesce(sum(error_count), 0) FROM error_block), (SELECT count(*) FROM inserted)
        """;

    private async Task CopyStagedAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var w = await BinaryCopyWriter.BeginAsync(conn,
            "COPY upload_staging (row_index, line, media_id, file_name, value_text, value_float, value_datetime, value_enums) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var s in _staged)
        {
            w.StartRow(8);
            w.WriteInt64(s.RowIndex);
            w.WriteInt64(s.Line);
            if (s.MediaId is { } mediaId) { w.WriteUuid(mediaId); } else { w.WriteNull(); }
            w.WriteText(PgText.Storable(s.FileName));
            w.WriteText(s.Value.Text);
            if (s.Value.Float is { } number) { w.WriteDouble(number); } else { w.WriteNull(); }
            if (s.Value.Timestamp is { } instant) { w.WriteTimestampTz(instant); } else { w.WriteNull(); }
            w.WriteInt16Array(s.Value.EnumNumbers);
            await w.FlushIfFullAsync(ct);
        }
        await w.CompleteAsync(ct);
    }
}
