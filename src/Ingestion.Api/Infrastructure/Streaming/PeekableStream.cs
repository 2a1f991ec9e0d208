namespace Ingestion.Api.Infrastructure.Streaming;

/// <summary>A forward-only stream that can look at its first bytes without consuming them, to tell formats apart.</summary>
public sealed class PeekableStream(Stream inner) : Stream
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

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
