using Ingestion.Api.Infrastructure.Streaming;
using Npgsql;

namespace Ingestion.Api.Features.Uploads;

/// <summary>
/// Reads a stored upload back as a stream, one chunk per query, so a job holds one chunk in memory however
/// large the file. Queries run on the caller's connection between the caller's own commands.
/// </summary>
public sealed class UploadChunkStream(NpgsqlConnection connection, Guid taskId) : ForwardReadStream
{
    private byte[] _chunk = [];
    private int _offset;
    private int _nextChunk;
    private bool _eof;
    private long _position;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _chunk.Length)
        {
            if (_eof)
            {
                return 0;
            }
            await using var cmd = new NpgsqlCommand("SELECT data FROM upload_chunks WHERE task_id = $1 AND chunk_no = $2", connection)
            {
                Parameters = { new() { Value = taskId }, new() { Value = _nextChunk } },
            };
            if (await cmd.ExecuteScalarAsync(cancellationToken) is byte[] data)
            {
                _chunk = data;
                _offset = 0;
                _nextChunk++;
            }
            else
            {
                _eof = true;
            }
        }
        var n = Math.Min(buffer.Length, _chunk.Length - _offset);
        _chunk.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }
}
