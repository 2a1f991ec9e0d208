using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Ingestion.Api.Infrastructure.Streaming;

/// <summary>
/// Passes on the text of an upload only once it is known to be good: valid UTF-8 and, for line-based formats,
/// complete lines no longer than the limit. Where the text breaks (an invalid byte, an over-long line, a corrupt
/// compressed stream) it ends the stream at the start of the broken line and keeps the break in
/// <see cref="Failure"/>, so that a format reader processes every row before the break and never sees half a
/// line. A leading UTF-8 byte-order mark is dropped. Memory is bounded by the line limit, never by the file.
/// </summary>
public sealed class TextGuardStream : ForwardReadStream
{
    private const int ReadSize = 64 * 1024;
    private readonly Stream _inner;
    private readonly int? _maxLineBytes;
    private byte[] _buffer = new byte[ReadSize * 2];
    private int _start;     // next byte to hand out
    private int _ready;     // end of the bytes that may be handed out
    private int _checked;   // end of the bytes checked so far
    private int _end;       // end of the bytes read
    private long _bufferOffset; // file offset of _buffer[0]
    private long _lineStart;    // file offset of the start of the line _checked is on
    private long _line = 1;     // line _checked is on
    private bool _eof;
    private bool _atStart = true;

    // The buffer holds at most one unfinished line (or, without lines, an unfinished character) besides a read.
    // maxLineBytes: the line limit of a line-based format; null hands text out as soon as it is checked.
    public TextGuardStream(Stream inner, int? maxLineBytes)
    {
        _inner = inner;
        _maxLineBytes = maxLineBytes;
        if (maxLineBytes is { } max)
        {
            _buffer = new byte[max + ReadSize * 2];
        }
    }

    /// <summary>Where and why the text broke, once it has; the stream ends at the start of that line.</summary>
    public MalformedFileException? Failure { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (_start == _ready)
        {
            if (_eof || Failure is not null)
            {
                return 0;
            }
            await FillAsync(cancellationToken);
        }
        var n = Math.Min(destination.Length, _ready - _start);
        _buffer.AsMemory(_start, n).CopyTo(destination);
        _start += n;
        return n;
    }

    private async ValueTask FillAsync(CancellationToken ct)
    {
        if (_start > 0)
        {
            // Keep the unfinished line (and any unchecked tail); drop what was handed out.
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _bufferOffset += _start;
            _ready -= _start;
            _checked -= _start;
            _end -= _start;
            _start = 0;
        }
        int read;
        try
        {
            read = await _inner.ReadAsync(_buffer.AsMemory(_end, ReadSize), ct);
        }
        catch (InvalidDataException)
        {
            Fail(_checked, "corrupt_gzip",
                "The compressed (gzip) data is corrupt or cut off from here on; the rows before this point were read. Compress the complete file again and upload it.");
            return;
        }
        if (read == 0)
        {
            _eof = true;
        }
        _end += read;
        if (_atStart && (_end >= 3 || _eof))
        {
            _atStart = false;
            if (_buffer.AsSpan(0, _end).StartsWith("\xEF\xBB\xBF"u8))
            {
                _start = _ready = _checked = 3;
                _lineStart = 3;
            }
        }
        if (!_atStart)
        {
            Check();
        }
    }

    private void Check()
    {
        // Hold back a possibly incomplete character at the end until the next read completes it.
        var upTo = _eof ? _end : CompleteCharactersEnd();
        var span = _buffer.AsSpan(_checked, upTo - _checked);
        var invalidAt = Utf8.IsValid(span) ? -1 : FirstInvalid(span);
        var checkedEnd = invalidAt < 0 ? upTo : _checked + invalidAt;

        var lineBreaks = _buffer.AsSpan(_checked, checkedEnd - _checked);
        var pos = _checked;
        while (true)
        {
            var nl = lineBreaks.IndexOf((byte)'\n');
            var lineEnd = nl < 0 ? checkedEnd : pos + nl;
            if (_maxLineBytes is { } max && _bufferOffset + lineEnd - _lineStart > max)
            {
                _checked = lineEnd;
                Fail((int)(_lineStart - _bufferOffset) + max, "line_too_long",
                    $"Line {_line} is longer than {max:N0} bytes, the most one line may take. Rows before it were read; split or shorten it.");
                return;
            }
            if (nl < 0)
            {
                break;
            }
            _line++;
            pos = lineEnd + 1;
            _lineStart = _bufferOffset + pos;
            lineBreaks = lineBreaks[(nl + 1)..];
        }
        _checked = checkedEnd;
        if (invalidAt >= 0)
        {
            Fail(checkedEnd, "invalid_utf8",
                $"Byte 0x{_buffer[checkedEnd]:X2} at line {_line}, column {_bufferOffset + checkedEnd - _lineStart + 1} is not valid UTF-8. " +
                "Rows before it were read; save the file as UTF-8 and upload it again.");
            return;
        }
        _ready = _maxLineBytes is null || _eof ? _checked : LineStartInBuffer;
    }

    private int LineStartInBuffer => (int)(_lineStart - _bufferOffset);

    /// <summary>Ends the text at the start of the line holding <paramref name="at"/> (or at it, without lines) and records why.</summary>
    private void Fail(int at, string code, string message)
    {
        _ready = _maxLineBytes is null ? Math.Max(_ready, at) : LineStartInBuffer;
        Failure = new MalformedFileException(code, message, _line, _bufferOffset + at - _lineStart + 1, _bufferOffset + at);
    }

    private int CompleteCharactersEnd()
    {
        var end = _end;
        var continuation = 0;
        while (end > _checked && continuation < 3 && (_buffer[end - 1] & 0xC0) == 0x80)
        {
            end--;
            continuation++;
        }
        return end > _checked && _buffer[end - 1] >= 0xC0 ? end - 1 : continuation > 0 ? end : _end;
    }

    private static int FirstInvalid(ReadOnlySpan<byte> span)
    {
        var at = 0;
        while (at < span.Length)
        {
            if (Rune.DecodeFromUtf8(span[at..], out _, out var consumed) != OperationStatus.Done)
            {
                return at;
            }
            at += consumed;
        }
        return span.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
