namespace Ingestion.Api.Infrastructure.Streaming;

/// <summary>A forward-only stream that can look at its first bytes without consuming them, to tell formats apart.</summary>
public sealed class PeekableStream(Stream inner) : ForwardReadStream
{
    private byte[] _peeked = [];
    private int _peekOffset;

    /// <summary>The first byte that is not white space or a UTF-8 byte-order mark, or null for an empty stream.</summary>
    public async ValueTask<byte?> PeekFirstNonWhitespaceAsync(CancellationToken ct)
    {
        var buffer = new List<byte>();
        var one = new byte[4096];
        while (true)
        {
            var n = await inner.ReadAsync(one, ct);
            if (n == 0)
            {
                _peeked = [.. buffer];
                return null;
            }
            buffer.AddRange(one.AsSpan(0, n));
            var start = buffer.Count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0;
            for (var i = start; i < buffer.Count; i++)
            {
                if (buffer[i] is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                {
                    _peeked = [.. buffer];
                    return buffer[i];
                }
            }
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_peekOffset < _peeked.Length)
        {
            var n = Math.Min(buffer.Length, _peeked.Length - _peekOffset);
            _peeked.AsMemory(_peekOffset, n).CopyTo(buffer);
            _peekOffset += n;
            return n;
        }
        return await inner.ReadAsync(buffer, cancellationToken);
    }
}
