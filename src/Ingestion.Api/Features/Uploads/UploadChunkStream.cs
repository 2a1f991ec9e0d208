using Ingestion.Api.Infrastructure.Streaming;
using Npgsql;

namespace Ingestion.Api.Features.Uploads;

/// <summary>
/// Reads a stored upload back as a stream, one chunk per query, so a job holds one chunk in memory however large the
/// file (two with <c>fetchAhead</c>). The connection is the stream's alone while it is open.
/// </summary>
/// <remarks>
/// With <c>fetchAhead</c>, the next chunk is fetched on the connection while the reader consumes the one before. A bulk
/// load fetches ahead. In a pass of a load in passes, which parses the whole upload and stores only its slice of the
/// rows, fetching was half of the reading (2.0 s of 4.1 s for the first of 10 passes over 3M rows, PostgreSQL
/// reassembling each 1 MiB chunk from its TOAST table and sending it). In a one-pass load it took the reading stage
/// from 0.85-1.03 s to 0.74-0.77 s a million rows, once the database stage no longer spent two extra round trips a
/// batch, which paced the load before (docs/benchmarks.md, 5 Dec, 20:00).
/// </remarks>
public sealed class UploadChunkStream(NpgsqlConnection connection, Guid taskId, bool fetchAhead = false) : ForwardReadStream
{
    // One buffer (two when fetching ahead), read into in place and reused: a fresh array per chunk would be a 1 MiB
    // large-object allocation each, garbage the collector keeps until a full collection (667 per pass over 10M rows).
    private byte[] _chunk = [];
    private byte[] _spare = [];
    private int _length;
    private int _offset;
    private int _nextChunk;
    private bool _eof;
    private long _position;
    // The fetch of the chunk after the current one: the buffer holding it and its length, or -1 past the last chunk.
    private Task<(byte[] Data, int Length)>? _ahead;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _length)
        {
            if (_eof)
            {
                return 0;
            }
            var fetched = _ahead ?? FetchAsync(_nextChunk, _spare, cancellationToken);
            _ahead = null;
            var (data, size) = await fetched;
            if (size < 0)
            {
                _eof = true;
                continue;
            }
            (_chunk, _spare) = (data, _chunk);
            _length = size;
            _offset = 0;
            _nextChunk++;
            _ahead = fetchAhead ? FetchAsync(_nextChunk, _spare, cancellationToken) : null;
        }
        var n = Math.Min(buffer.Length, _length - _offset);
        _chunk.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }

    /// <summary>Reads chunk <paramref name="chunkNo"/> into <paramref name="into"/>, or into a larger buffer in its place.</summary>
    private async Task<(byte[] Data, int Length)> FetchAsync(int chunkNo, byte[] into, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT data FROM upload_chunks WHERE task_id = $1 AND chunk_no = $2", connection)
        {
            Parameters = { new() { Value = taskId }, new() { Value = chunkNo } },
        };
        await using var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        if (!await reader.ReadAsync(ct))
        {
            return (into, -1);
        }
        await using var data = await reader.GetStreamAsync(0, ct);
        var size = (int)data.Length;
        if (into.Length < size)
        {
            into = new byte[size];
        }
        await data.ReadExactlyAsync(into.AsMemory(0, size), ct);
        return (into, size);
    }

    /// <summary>A fetch still running owns the connection: it ends before the caller may close or reuse it.</summary>
    private async Task EndFetchAsync()
    {
        if (_ahead is not { } ahead)
        {
            return;
        }
        _ahead = null;
        try
        {
            await ahead;
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or IOException or InvalidOperationException)
        {
            // The read was abandoned; only the connection's release matters now.
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            EndFetchAsync().GetAwaiter().GetResult();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await EndFetchAsync();
        await base.DisposeAsync();
    }
}
