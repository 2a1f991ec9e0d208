using Ingestion.Api.Infrastructure.Database;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// A dataset's media item ids as a one-pass bulk load read and sorted them (<see cref="MediaValueLedger"/>'s keys and
/// prefix table), with the snapshot they were read in. Never written after it is built, so any number of loads may
/// read it at once, each with claims of its own.
/// </summary>
internal sealed record DatasetItemKeys(Guid DatasetId, UInt128[] Keys, int Count, int[] Starts, int PrefixBits, string Snapshot);

/// <summary>
/// Keeps the item ids of the last dataset a one-pass bulk load read, so that the next field's first upload into the same
/// dataset (curators load several fields of one dataset in a row) skips reading and sorting them again: about 0.3 s of
/// a 2 s task at 1M items. Kept ids serve a load only while the database says the dataset's items are what they were
/// (<see cref="TakeIfCurrentAsync"/>), which holds across nodes and for items written by any path. One dataset's ids at
/// a time, at most <see cref="IngestOptions.BulkLoadMaxItems"/> of them (20 MB at the default), dropped after
/// <see cref="IngestOptions.KeepItemIdsSeconds"/> unused, or as soon as a bulk load of another dataset, or one in
/// passes, begins: a load's memory is its own ledger, not that plus the last one's.
/// </summary>
public sealed class DatasetItemKeyCache : IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeSpan _keepFor;
    private readonly Timer _expiry;
    private DatasetItemKeys? _kept;
    private long _reuses;

    public DatasetItemKeyCache(IOptions<IngestOptions> options)
    {
        _keepFor = TimeSpan.FromSeconds(Math.Max(0, options.Value.KeepItemIdsSeconds));
        _expiry = new Timer(_ => Forget());
    }

    /// <summary>How many loads were served kept ids instead of reading them.</summary>
    public long Reuses => Interlocked.Read(ref _reuses);

    internal void Keep(DatasetItemKeys keys)
    {
        if (_keepFor <= TimeSpan.Zero)
        {
            return;
        }
        lock (_gate)
        {
            _kept = keys;
            _expiry.Change(_keepFor, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// The kept ids of <paramref name="datasetId"/> if no item of it was added or removed since they were read: every
    /// change row of the dataset (migration 0017) is visible in their snapshot, and <paramref name="datasetItems"/>, its
    /// count as the load read it, is theirs (a TRUNCATE of the items empties the change rows rather than adding one).
    /// Otherwise null, and they are dropped.
    /// </summary>
    internal async Task<DatasetItemKeys?> TakeIfCurrentAsync(NpgsqlConnection conn, Guid datasetId, long datasetItems, CancellationToken ct)
    {
        DatasetItemKeys? kept;
        lock (_gate)
        {
            kept = _kept;
        }
        if (kept is null)
        {
            return null;
        }
        if (kept.DatasetId != datasetId)
        {
            // Loads have moved on to another dataset: the ids go now rather than beside that load's own ledger.
            Forget(kept);
            return null;
        }
        var current = kept.Count == datasetItems && await conn.ScalarAsync<bool>("""
            SELECT NOT EXISTS (SELECT 1 FROM dataset_item_counts
                               WHERE dataset_id = $1 AND NOT pg_visible_in_snapshot(changed_by, $2::text::pg_snapshot))
            """, ct, datasetId, kept.Snapshot);
        if (!current)
        {
            Forget(kept);
            return null;
        }
        Interlocked.Increment(ref _reuses);
        lock (_gate)
        {
            _expiry.Change(_keepFor, Timeout.InfiniteTimeSpan);
        }
        return kept;
    }

    /// <summary>Drops the kept ids, so that a load in passes, whose memory is held flat, does not hold them beside its ledger.</summary>
    internal void Forget()
    {
        lock (_gate)
        {
            _kept = null;
        }
    }

    private void Forget(DatasetItemKeys kept)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_kept, kept))
            {
                _kept = null;
            }
        }
    }

    public void Dispose() => _expiry.Dispose();
}
