using Ingestion.Api.Infrastructure.Streaming;
using Npgsql;

namespace Ingestion.Api.Features.Uploads;

/// <summary>
/// Reads a stored upload back as a stream, one chunk per query, so a job holds one chunk in memory however
/// large the file. Queries run on the caller's connection between the caller's own commands.
/// </summary>
public sealed class UploadChunkStream(NpgsqlConnection connection, Guid taskId) : ForwardReadStream
{
    // One buffer for every chunk, read into in place: a fresh array per chunk would be a 1 MiB large-object
    // allocation each, garbage the collector keeps until a full collection (667 of them per pass over a 10M-row file).
    private byte[] _chunk = [];
    private int _length;
    private int _offset;
    private int _nextChunk;
    private bool _eof;
    private long _position;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _length)
        {
            if (_eof)
            {
                return 0;
            }
            await using var cmd = new NpgsqlCommand("SELECT data FROM upload_chunks WHERE task_id = $1 AND chunk_no = $2", connection)
            {
                Parameters = { new() { Value = taskId }, new() { Value = _nextChunk } },
            };
            await using var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                await using var data = await reader.GetStreamAsync(0, cancellationToken);
                var size = (int)data.Length;
                if (_chunk.Length < size)
                {
                    _chunk = new byte[size];
                }
                await data.ReadExactlyAsync(_chunk.AsMemory(0, size), cancellationToken);
                _length = size;
                _offset = 0;
                _nextChunk++;
            }
            else
            {
                _eof = true;
            }
        }
        var n = Math.Min(buffer.Length, _length - _offset);
        _chunk.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }
}
