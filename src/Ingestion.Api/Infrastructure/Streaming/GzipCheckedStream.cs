using System.Buffers.Binary;
using System.IO.Compression;

namespace Ingestion.Api.Infrastructure.Streaming;

/// <summary>
/// Decompresses gzip as a stream, and notices a file that was cut off: <see cref="GZipStream"/> ends quietly
/// when its input runs out mid-stream, so at the end the decompressed size is held against the size the gzip
/// trailer records (its last four bytes, modulo 2^32). A mismatch throws <see cref="InvalidDataException"/>,
/// as corrupt data does. A file of several concatenated gzip members records only the last member's size
/// there; such files are rare, and are reported as cut off rather than a cut-off file going unnoticed.
/// </summary>
public sealed class GzipCheckedStream(Stream compressed) : ForwardReadStream
{
    private readonly TailStream _tail = new(compressed);
    private GZipStream? _gzip;
    private uint _decompressed;
    private bool _checked;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _gzip ??= new GZipStream(_tail, CompressionMode.Decompress);
        var n = await _gzip.ReadAsync(buffer, cancellationToken);
        _decompressed = unchecked(_decompressed + (uint)n);
        if (n == 0 && buffer.Length > 0 && !_checked)
        {
            _checked = true;
            if (_tail.Length < 18 || BinaryPrimitives.ReadUInt32LittleEndian(_tail.Last4) != _decompressed)
            {
                throw new InvalidDataException("The gzip data ends before its trailer: the file was cut off.");
            }
        }
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gzip?.Dispose();
            _tail.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Passes reads through, keeping the last four bytes read and the count.</summary>
    private sealed class TailStream(Stream inner) : ForwardReadStream
    {
        private readonly byte[] _last = new byte[4];
        private long _length;

        public ReadOnlySpan<byte> Last4 => _last;

        public override long Length => _length;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            if (n >= 4)
            {
                buffer.Span.Slice(n - 4, 4).CopyTo(_last);
            }
            else if (n > 0)
            {
                _last.AsSpan(n).CopyTo(_last);
                buffer.Span[..n].CopyTo(_last.AsSpan(4 - n));
            }
            _length += n;
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
