using System.Buffers.Binary;
using System.Numerics;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Infrastructure.Database;
using Npgsql;

namespace Ingestion.Api.Features.Validation;

public enum ClaimVerdict { Stored, UnknownItem, RepeatInFile, AlreadySet }

/// <summary>
/// What a field's first upload checks each row against without asking the database: the dataset's media item ids,
/// sorted, and for each the row that already gave it a value in this field. It is exact only while this job is the
/// one writer of the field's table, which the field's lock (UploadTaskRunner) guarantees. Memory is 20 bytes per item
/// of the dataset, so it holds at most <see cref="IngestOptions.BulkLoadMaxItems"/> items; a larger dataset is loaded
/// in passes, one <see cref="LedgerSlice"/> of its items at a time. Only for files of fewer than 2^31 rows (row
/// numbers are kept as int).
/// </summary>
internal sealed class MediaValueLedger
{
    private const int NoValue = 0;
    private const int EarlierUpload = -1;

    // The first _count entries are the slice's item keys, sorted. The arrays are handed from pass to pass, so a load in
    // passes holds one ledger's memory, not one per pass waiting for the collector.
    private UInt128[] _ids;
    // NoValue, EarlierUpload, or row + 1 for a value from row `row` of this task.
    private int[] _claims;
    private int _count;
    // _starts[p] is the first position whose key's top _prefixBits bits are >= p. The table has about one entry per
    // four ids, so a lookup reads two adjacent starts and a run of about four ids: two cache misses in a ledger of
    // 16 MB. With 16 fixed bits for 1M ids it was a run of 61 ids and about six dependent misses: the batch's lookup
    // loop (ValueBatch.Seal) took 2.6% of a 1M-row load's CPU samples that way, 1.4% this way.
    private int[] _starts = [];
    private int _prefixBits;
    // The keys and prefix table are also DatasetItemKeyCache's: a later pass must not reuse them as its own.
    private bool _keysKept;

    private MediaValueLedger(UInt128[] ids)
    {
        _ids = ids;
        _claims = [];
    }

    public int Items => _count;

    /// <summary>The items this ledger holds: the pass of the bulk load it serves.</summary>
    public LedgerSlice Slice { get; private set; }

    /// <summary>
    /// Set by the reading stage at the first batch of the pass with a row named by file name: from that batch on, rows
    /// are claimed when their batch is flushed (a name is resolved in the database first) instead of when it is sealed.
    /// Claims stay in file order and on one stage at a time: every batch before it was claimed when sealed, before
    /// this one was sealed, and every flush comes after its batch's seal.
    /// </summary>
    public bool ClaimsAtFlush { get; set; }

    /// <summary>
    /// Loads the items of the dataset that fall in <paramref name="slice"/>, about <paramref name="datasetItems"/> ÷
    /// passes of them, and, when <paramref name="tableHasRows"/>, the values already in the field's table for those
    /// items (from an earlier part of this task, or from an earlier upload that stopped before indexing it). A field
    /// table that was empty when the task started needs no such read: every value a pass stores is of its own slice.
    /// <paramref name="previous"/>, the ledger of the pass before, gives up its memory to this one.
    /// <paramref name="prefetched"/>, when given, is the connection on which <see cref="PrefetchAsync"/> already picked
    /// this slice's items out, during an earlier pass. <paramref name="keyCache"/>, when given, may serve a one-pass
    /// load the ids the last one into this dataset read, and keeps the ids this one reads. <paramref name="progress"/>
    /// hears how far the items are read.
    /// </summary>
    public static async Task<MediaValueLedger> LoadAsync(NpgsqlConnection conn, Guid datasetId, Guid fieldId, Guid taskId, LedgerSlice slice,
        long datasetItems, bool tableHasRows, MediaValueLedger? previous, NpgsqlConnection? prefetched, DatasetItemKeyCache? keyCache,
        LedgerProgress? progress, CancellationToken ct, bool reload = false)
    {
        // A load in one pass reads all of the dataset's items: it may take the ids the last such load into the same
        // dataset read, if they are still the dataset's, and keeps what it reads for the next one.
        var keepable = keyCache is not null && slice.Passes == 1 && prefetched is null;
        if (!keepable)
        {
            keyCache?.Forget();
        }
        var ledger = previous is { _keysKept: false } ? previous : new MediaValueLedger([]);
        ledger.Slice = slice;
        ledger.ClaimsAtFlush = false;
        if (keepable && await keyCache!.TakeIfCurrentAsync(conn, datasetId, datasetItems, ct) is { } kept)
        {
            ledger._ids = kept.Keys;
            ledger._count = kept.Count;
            ledger._starts = kept.Starts;
            ledger._prefixBits = kept.PrefixBits;
            ledger._keysKept = true;
            progress?.Report(0.9);
        }
        else
        {
            await ledger.ReadKeysAsync(conn, datasetId, slice, datasetItems, prefetched, keepable ? keyCache : null, progress, ct);
        }
        if (ledger._claims.Length < ledger._count)
        {
            ledger._claims = [];
            ledger._claims = new int[ledger._ids.Length];
        }
        else
        {
            Array.Clear(ledger._claims, 0, ledger._count);
        }
        if (!tableHasRows)
        {
            return ledger;
        }
        await using (var cmd = new NpgsqlCommand($"""
            SELECT media_id, task_id = $1, row_index FROM {FieldValueTables.BulkTableName(fieldId, reload)} WHERE {LedgerSlice.Sql("media_id", "$2", "$3")}
            """, conn)
        {
            Parameters = { new() { Value = taskId }, new() { Value = (long)slice.Passes }, new() { Value = (long)slice.Pass } },
        })
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            // The values of a reload's field come last, up to one an item of the slice: the last tenth of the reading.
            var (n, share) = (0, 0.1 / Math.Max(1, ledger._count));
            while (reader.Read())
            {
                var at = ledger.Find(reader.GetGuid(0));
                if (at >= 0)
                {
                    ledger._claims[at] = reader.GetBoolean(1) ? checked((int)reader.GetInt64(2) + 1) : EarlierUpload;
                }
                if ((++n & 0x3FFF) == 0)
                {
                    progress?.Report(0.9 + n * share);
                }
            }
        }
        return ledger;
    }

    private async Task ReadKeysAsync(NpgsqlConnection conn, Guid datasetId, LedgerSlice slice, long datasetItems, NpgsqlConnection? prefetched,
        DatasetItemKeyCache? keepIn, LedgerProgress? progress, CancellationToken ct)
    {
        // One pass reads the dataset's items, as many as its kept count, so the array is allocated once at its size; a
        // slice's share is only expected. Either grows in the rare case it is exceeded (items registered meanwhile).
        var expected = slice.Passes == 1 ? datasetItems : datasetItems / slice.Passes + datasetItems / slice.Passes / 50 + 1024;
        if (_ids.Length < expected)
        {
            _ids = [];
            _ids = new UInt128[expected];
        }
        var ids = _ids;
        var n = 0;
        // Ids to be kept are read in one snapshot, recorded with them, against which later loads check the dataset's
        // changes (DatasetItemKeyCache).
        await using var snapshotRead = keepIn is not null ? await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct) : null;
        (string Snapshot, long Items)? snapshot = null;
        if (snapshotRead is not null)
        {
            await using var cmd = new NpgsqlCommand("SELECT pg_current_snapshot()::text, dataset_item_count($1)", conn) { Parameters = { new() { Value = datasetId } } };
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            snapshot = (reader.GetString(0), reader.GetInt64(1));
        }
        // Read in heap order and sorted here: right after a large registration the visibility map is not set yet, and an
        // index-only scan in key order then visits the heap once per item at random (measured: 2 s against 0.3 s for 1M).
        // A slice is picked out by PostgreSQL, which scans 10M items in 0.65 s, against 3 s to send them all here.
        await using (var cmd = prefetched is not null
            ? new NpgsqlCommand($"SELECT media_id FROM {PrefetchedSlice(slice.Pass)}", prefetched)
            : slice.Passes == 1
            ? new NpgsqlCommand("SELECT media_id FROM media_items WHERE dataset_id = $1", conn) { Parameters = { new() { Value = datasetId } } }
            : new NpgsqlCommand($"SELECT media_id FROM media_items WHERE dataset_id = $1 AND {LedgerSlice.Sql("media_id", "$2", "$3")}", conn)
            {
                Parameters = { new() { Value = datasetId }, new() { Value = (long)slice.Passes }, new() { Value = (long)slice.Pass } },
            })
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            // Synchronous reads: a million rows arrive in a few hundred buffers, and awaiting each row cost more than
            // the rows themselves (a binary COPY read the same way took longer still: 0.8-1.3 s against 0.5 s).
            // Reading is nine tenths of the ledger's time; sorting and the claims are the rest.
            var share = 0.9 / Math.Max(1, datasetItems / slice.Passes);
            while (reader.Read())
            {
                if (n == ids.Length)
                {
                    Array.Resize(ref ids, n + n / 8 + 1024);
                }
                ids[n++] = Key(reader.GetGuid(0));
                if ((n & 0x3FFF) == 0)
                {
                    progress?.Report(n * share);
                }
            }
        }
        if (snapshotRead is not null)
        {
            await snapshotRead.CommitAsync(ct);
        }
        if (prefetched is not null)
        {
            await prefetched.ExecuteAsync($"DROP TABLE {PrefetchedSlice(slice.Pass)}", ct); // read once: its disk goes now
        }
        // Items registered after this read (for a prefetched slice, after the load's first pass began) are not in this
        // pass's ledger: their rows are reported unknown.
        _ids = ids;
        _count = n;
        Array.Sort(ids, 0, n);
        IndexPrefixes();
        if (keepIn is not null && snapshot is { } read && read.Items == n)
        {
            // From here on the keys and the prefix table are shared, and never written again.
            keepIn.Keep(new DatasetItemKeys(datasetId, _ids, _count, _starts, _prefixBits, read.Snapshot));
            _keysKept = true;
        }
    }

    /// <summary>
    /// Picks the items of every slice from pass <paramref name="fromPass"/> on out of the dataset, in one scan, into a
    /// temporary table per slice on <paramref name="conn"/>, for those passes' <see cref="LoadAsync"/>. Run during the
    /// first pass of a load, whose database stage mostly waits for the reading stage to parse the whole file, it takes
    /// the scans of the dataset's items off the later passes: one scan of 10M items instead of one per pass, which, once
    /// later passes had become faster than a scan and its insert, left a pass waiting for its slice with the status
    /// standing still (1.1 s at 10M). Every later slice comes from one snapshot of the dataset.
    /// </summary>
    public static async Task PrefetchAsync(NpgsqlConnection conn, Guid datasetId, int fromPass, int passes, CancellationToken ct)
    {
        await DropPrefetchedAsync(conn, ct);
        await conn.ExecuteAsync("CREATE TEMP TABLE ledger_slices (slice bigint NOT NULL, media_id uuid NOT NULL) PARTITION BY LIST (slice)", ct);
        for (var pass = fromPass; pass < passes; pass++)
        {
            // Temporary, unlogged, and read once in heap order: no index, no WAL.
            await conn.ExecuteAsync($"CREATE TEMP TABLE {PrefetchedSlice(pass)} PARTITION OF ledger_slices FOR VALUES IN ({pass})", ct);
        }
        await conn.ExecuteUntimedAsync($"""
            INSERT INTO ledger_slices
            SELECT s.slice, s.media_id
            FROM (SELECT {LedgerSlice.PassSql("media_id", "$2")} AS slice, media_id FROM media_items WHERE dataset_id = $1) s
            WHERE s.slice >= $3
            """, ct, datasetId, (long)passes, (long)fromPass);
    }

    /// <summary>Drops what <see cref="PrefetchAsync"/> left on the connection, read or not.</summary>
    public static Task DropPrefetchedAsync(NpgsqlConnection conn, CancellationToken ct) =>
        conn.ExecuteAsync("DROP TABLE IF EXISTS ledger_slices", ct);

    // The pass number is an int, never user text.
    private static string PrefetchedSlice(int pass) => $"ledger_slice_{pass.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>How many items the dataset has: the count migration 0010's triggers keep, not a count of the rows.</summary>
    public static async Task<long> CountItemsAsync(NpgsqlConnection conn, Guid datasetId, CancellationToken ct) =>
        await conn.ScalarAsync<long>("SELECT dataset_item_count($1)", ct, datasetId);

    private void IndexPrefixes()
    {
        // 8 to 20 bits: at most 4 MB of table, and about four ids per entry up to 4M ids.
        _prefixBits = Math.Clamp(64 - BitOperations.LeadingZeroCount((ulong)Math.Max(1, _count)) - 2, 8, 20);
        var entries = 1 << _prefixBits;
        if (_starts.Length != entries + 1)
        {
            _starts = new int[entries + 1];
        }
        var p = 0;
        for (var i = 0; i < _count; i++)
        {
            var prefix = Prefix(_ids[i]);
            while (p <= prefix)
            {
                _starts[p++] = i;
            }
        }
        while (p <= entries)
        {
            _starts[p++] = _count;
        }
    }

    private int Prefix(UInt128 key) => (int)(key >> (128 - _prefixBits));

    /// <summary>
    /// Gives the item at position <paramref name="at"/> (as <see cref="Find"/> gave it for this pass's ledger; -1: no
    /// such item) the value of row <paramref name="rowIndex"/> unless it is unknown or already has one.
    /// <paramref name="priorRow"/> is the row of this file that gave it its value, for <see cref="ClaimVerdict.RepeatInFile"/>.
    /// </summary>
    public ClaimVerdict ClaimAt(int at, long rowIndex, out long priorRow)
    {
        priorRow = -1;
        if (at < 0)
        {
            return ClaimVerdict.UnknownItem;
        }
        var claim = _claims[at];
        if (claim == NoValue)
        {
            _claims[at] = checked((int)rowIndex + 1);
            return ClaimVerdict.Stored;
        }
        if (claim == EarlierUpload)
        {
            return ClaimVerdict.AlreadySet;
        }
        priorRow = claim - 1;
        return ClaimVerdict.RepeatInFile;
    }

    /// <summary>Where this ledger holds the item, or -1. Reads only the ids, which stay as they are for the whole pass.</summary>
    public int Find(Guid mediaId)
    {
        var key = Key(mediaId);
        var prefix = Prefix(key);
        return Search(key, _starts[prefix], _starts[prefix + 1] - 1);
    }

    /// <summary>How many ids <see cref="FindMany"/> takes at once.</summary>
    public const int LookupGroup = 32;

    /// <summary>
    /// <see cref="Find"/> for up to <see cref="LookupGroup"/> ids at once. A lookup is two dependent cache misses, the
    /// prefix table's entry and then the id's run; one at a time, the binary search's unpredictable branches keep the
    /// processor from reaching the next id's misses meanwhile. Here each step is taken for the whole group before the
    /// next, with no branch between the loads, so the group's misses overlap and the searches then run in cache.
    /// </summary>
    public void FindMany(ReadOnlySpan<Guid> mediaIds, Span<int> found)
    {
        var n = Math.Min(mediaIds.Length, LookupGroup);
        if (_count == 0)
        {
            found[..n].Fill(-1);
            return;
        }
        Span<UInt128> keys = stackalloc UInt128[LookupGroup];
        Span<int> lo = stackalloc int[LookupGroup];
        Span<int> hi = stackalloc int[LookupGroup];
        for (var i = 0; i < n; i++)
        {
            keys[i] = Key(mediaIds[i]);
            var prefix = Prefix(keys[i]);
            lo[i] = _starts[prefix];
            hi[i] = _starts[prefix + 1] - 1;
        }
        // Bring each run's first and last ids into cache (a run of about four spans one or two lines).
        UInt128 touched = 0;
        var last = _count - 1;
        for (var i = 0; i < n; i++)
        {
            touched ^= _ids[Math.Min(lo[i], last)] ^ _ids[Math.Max(Math.Min(hi[i], last), 0)];
        }
        _touched = touched;
        for (var i = 0; i < n; i++)
        {
            found[i] = Search(keys[i], lo[i], hi[i]);
        }
    }

    // Keeps the group's touching loads from being optimized away.
    private UInt128 _touched;

    private int Search(UInt128 key, int lo, int hi)
    {
        // A short sorted run: a plain binary search on the operators, without the generic comparer's calls.
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            var at = _ids[mid];
            if (at == key)
            {
                return mid;
            }
            if (at < key)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return -1;
    }

    /// <summary>
    /// The id as a number whose top bits are random: its last 8 bytes first, turned so that their two fixed variant
    /// bits go to the bottom. Version 7 ids (the ones registration assigns) begin with a millisecond timestamp, so
    /// their first bytes are the same for weeks of registrations and would put every item under one entry of the prefix
    /// table; their last bytes are random, as are a version 4 id's. Any one-to-one mapping keeps the ledger exact; this
    /// one spreads ids evenly over the table.
    /// </summary>
    private static UInt128 Key(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return new UInt128(BitOperations.RotateLeft(BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), 2),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[..8]));
    }
}

/// <summary>
/// Pass <see cref="Pass"/> of <see cref="Passes"/> of a bulk load: the items whose id hashes to it. A row is decided in
/// the pass of its item's slice, so each item's rows, and with them its repeats, meet one ledger, in file order.
/// The hash is PostgreSQL's own uuid_hash, so the database picks a slice's items out of the dataset where they are
/// stored; it mixes every bit of the id, so slices come out the same size whatever ids the dataset was registered
/// with (random, time-ordered or counted up from zero).
/// </summary>
public readonly record struct LedgerSlice(int Pass, int Passes)
{
    public bool Contains(Guid id) => Passes == 1 || Of(PgUuidHash(id), Passes) == Pass;

    /// <summary>The pass, of the same load, whose slice holds <paramref name="id"/>.</summary>
    public int PassOf(Guid id) => Passes == 1 ? 0 : Of(PgUuidHash(id), Passes);

    /// <summary>The slice of a hash, the same in SQL: a multiply-high of the unsigned hash by the number of passes.</summary>
    private static int Of(uint hash, int passes) => (int)((ulong)hash * (ulong)passes >> 32);

    /// <summary>The condition "<paramref name="column"/> is in pass <paramref name="pass"/> of <paramref name="passes"/>", on bigint parameters.</summary>
    public static string Sql(string column, string passes, string pass) => $"{PassSql(column, passes)} = {pass}";

    /// <summary>The pass of <paramref name="passes"/> (a bigint parameter) whose slice holds <paramref name="column"/>, as <see cref="PassOf"/> gives it.</summary>
    public static string PassSql(string column, string passes) => $"((uuid_hash({column})::bigint & 4294967295) * {passes}) >> 32";

    /// <summary>
    /// PostgreSQL's uuid_hash: hash_bytes (Bob Jenkins' lookup3, src/common/hashfn.c) over the id's 16 bytes in network
    /// order, read as little-endian words as on every platform .NET runs on. Held to the server's own by a test and,
    /// before a load in passes, by <see cref="AgreesWithServerAsync"/>.
    /// </summary>
    public static uint PgUuidHash(Guid id)
    {
        Span<byte> k = stackalloc byte[16];
        id.TryWriteBytes(k, bigEndian: true, out _);
        unchecked
        {
            uint a, b, c;
            a = b = c = 0x9e3779b9 + 16 + 3923095;
            a += BinaryPrimitives.ReadUInt32LittleEndian(k);
            b += BinaryPrimitives.ReadUInt32LittleEndian(k[4..]);
            c += BinaryPrimitives.ReadUInt32LittleEndian(k[8..]);
            // mix(a, b, c)
            a -= c; a ^= uint.RotateLeft(c, 4); c += b;
            b -= a; b ^= uint.RotateLeft(a, 6); a += c;
            c -= b; c ^= uint.RotateLeft(b, 8); b += a;
            a -= c; a ^= uint.RotateLeft(c, 16); c += b;
            b -= a; b ^= uint.RotateLeft(a, 19); a += c;
            c -= b; c ^= uint.RotateLeft(b, 4); b += a;
            // the last 4 bytes
            a += BinaryPrimitives.ReadUInt32LittleEndian(k[12..]);
            // final(a, b, c)
            c ^= b; c -= uint.RotateLeft(b, 14);
            a ^= c; a -= uint.RotateLeft(c, 11);
            b ^= a; b -= uint.RotateLeft(a, 25);
            c ^= b; c -= uint.RotateLeft(b, 16);
            a ^= c; a -= uint.RotateLeft(c, 4);
            b ^= a; b -= uint.RotateLeft(a, 14);
            c ^= b; c -= uint.RotateLeft(b, 24);
            return c;
        }
    }

    /// <summary>Whether the server's uuid_hash is the one <see cref="PgUuidHash"/> computes, on a few ids of every kind.</summary>
    public static async Task<bool> AgreesWithServerAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        Guid[] ids = [Guid.Empty, Guid.AllBitsSet, new("00000000-0000-0000-0000-000000000001"), Guid.CreateVersion7(), Guid.NewGuid()];
        await using var cmd = new NpgsqlCommand("SELECT uuid_hash(id) FROM unnest($1::uuid[]) WITH ORDINALITY AS x(id, n) ORDER BY n", conn)
        {
            Parameters = { new() { Value = ids } },
        };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        foreach (var id in ids)
        {
            if (!await reader.ReadAsync(ct) || unchecked((uint)reader.GetInt32(0)) != PgUuidHash(id))
            {
                return false;
            }
        }
        return true;
    }
}
