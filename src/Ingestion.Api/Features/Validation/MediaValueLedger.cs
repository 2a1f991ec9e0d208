using System.Buffers.Binary;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Infrastructure.Database;
using Npgsql;

namespace Ingestion.Api.Features.Validation;

public enum ClaimVerdict { Stored, UnknownItem, RepeatInFile, AlreadySet }

/// <summary>
/// What a field's first upload checks each row against without asking the database: the dataset's media item ids,
/// sorted, and for each the row that already gave it a value in this field. It is exact only while this job is the
/// one writer of the field's table, which the field's lock (UploadTaskRunner) guarantees. Memory is 20 bytes per item
/// of the dataset, so the job uses it only up to <see cref="IngestOptions.BulkLoadMaxItems"/> items, and only for files
/// of fewer than 2^31 rows (row numbers are kept as int).
/// </summary>
internal sealed class MediaValueLedger
{
    private const int NoValue = 0;
    private const int EarlierUpload = -1;

    private readonly UInt128[] _ids;
    // NoValue, EarlierUpload, or row + 1 for a value from row `row` of this task.
    private readonly int[] _claims;
    // _starts[p] is the first position whose key's top 16 bits are >= p, so a lookup searches a slice of ~n/16384 ids
    // (the top two bits of a key are an id's fixed variant bits).
    private readonly int[] _starts = new int[65537];

    private MediaValueLedger(UInt128[] ids)
    {
        _ids = ids;
        _claims = new int[ids.Length];
        var p = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            var prefix = (int)(ids[i] >> 112);
            while (p <= prefix)
            {
                _starts[p++] = i;
            }
        }
        while (p <= 65536)
        {
            _starts[p++] = ids.Length;
        }
    }

    public int Items => _ids.Length;

    /// <summary>
    /// Loads the dataset's items and the values already in the field's table (from an earlier part of this task, or
    /// from an earlier upload that stopped before indexing it). Null when the dataset holds more than
    /// <paramref name="maxItems"/> items.
    /// </summary>
    public static async Task<MediaValueLedger?> LoadAsync(NpgsqlConnection conn, Guid datasetId, Guid fieldId, Guid taskId, int maxItems,
        CancellationToken ct)
    {
        // Counted first, so a dataset past the bound costs a count, not gigabytes read and thrown away, and the id array
        // is allocated once at its size.
        var count = await conn.ScalarAsync<long>(
            "SELECT count(*) FROM (SELECT 1 FROM media_items WHERE dataset_id = $1 LIMIT $2) x", ct, datasetId, (long)maxItems + 1);
        if (count > maxItems)
        {
            return null;
        }
        // Read in heap order and sorted here: right after a large registration the visibility map is not set yet, and an
        // index-only scan in key order then visits the heap once per item at random (measured: 2 s against 0.3 s for 1M).
        var ids = new UInt128[count];
        var n = 0;
        await using (var cmd = new NpgsqlCommand("SELECT media_id FROM media_items WHERE dataset_id = $1 LIMIT $2", conn)
        {
            Parameters = { new() { Value = datasetId }, new() { Value = count } },
        })
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            // Synchronous reads: a million rows arrive in a few hundred buffers, and awaiting each row cost more than
            // the rows themselves (a binary COPY read the same way took longer still: 0.8-1.3 s against 0.5 s).
            while (reader.Read())
            {
                ids[n++] = Key(reader.GetGuid(0));
            }
        }
        // Items registered between the count and the read are not in this upload's ledger: their rows are reported unknown.
        if (n < ids.Length)
        {
            Array.Resize(ref ids, n);
        }
        Array.Sort(ids);
        var ledger = new MediaValueLedger(ids);
        await using (var cmd = new NpgsqlCommand($"SELECT media_id, task_id = $1, row_index FROM {FieldValueTables.TableName(fieldId)}", conn)
        {
            Parameters = { new() { Value = taskId } },
        })
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var at = ledger.Find(reader.GetGuid(0));
                if (at >= 0)
                {
                    ledger._claims[at] = reader.GetBoolean(1) ? checked((int)reader.GetInt64(2) + 1) : EarlierUpload;
                }
            }
        }
        return ledger;
    }

    /// <summary>
    /// Gives the item the value of row <paramref name="rowIndex"/> unless it is unknown or already has one.
    /// <paramref name="priorRow"/> is the row of this file that gave it its value, for <see cref="ClaimVerdict.RepeatInFile"/>.
    /// </summary>
    public ClaimVerdict Claim(Guid mediaId, long rowIndex, out long priorRow)
    {
        priorRow = -1;
        var at = Find(mediaId);
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

    private int Find(Guid mediaId)
    {
        var key = Key(mediaId);
        var prefix = (int)(key >> 112);
        var at = Array.BinarySearch(_ids, _starts[prefix], _starts[prefix + 1] - _starts[prefix], key);
        return at >= 0 ? at : -1;
    }

    /// <summary>
    /// The id as a number whose top bits are random: its last 8 bytes first. Version 7 ids (the ones registration
    /// assigns) begin with a millisecond timestamp, so their first 16 bits are the same for weeks of registrations and
    /// would put every item in one slice of the prefix table; their last bytes are random, as are a version 4 id's.
    /// </summary>
    private static UInt128 Key(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return new UInt128(BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), BinaryPrimitives.ReadUInt64BigEndian(bytes[..8]));
    }
}
