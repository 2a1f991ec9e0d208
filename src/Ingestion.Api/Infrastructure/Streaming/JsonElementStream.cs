using System.Text;
using System.Text.Json;

namespace Ingestion.Api.Infrastructure.Streaming;

public enum JsonStreamShape
{
    /// <summary>One top-level array; each element is a record.</summary>
    Array,

    /// <summary>Top-level values one after another (NDJSON): each value is a record.</summary>
    Sequence,
}

/// <summary>
/// Hands the caller one element. <paramref name="reader"/> stands on its first token; <paramref name="data"/> is the
/// buffer the reader reads, for slicing raw text. An object may be handed over before the buffer holds all of it: the
/// reader then runs out (Read and TrySkip return false) before the closing brace, and the same element is handed over
/// again, complete. So a handler starts its element's result afresh each time, and reads an object to its closing brace.
/// </summary>
public delegate void JsonElementHandler(ref Utf8JsonReader reader, ReadOnlySpan<byte> data);

/// <summary>An NDJSON line that is not valid JSON: where it broke and why, and its text.</summary>
public sealed record BrokenLine(long Line, long Column, string Cause, string Text);

/// <summary>A file that is not valid JSON (or NDJSON): where it broke and why, for a person to act on.</summary>
public sealed class MalformedFileException(string code, string message, long line, long column, long byteOffset)
    : Exception(message)
{
    public string Code { get; } = code;
    public long Line { get; } = line;
    public long Column { get; } = column;
    public long ByteOffset { get; } = byteOffset;
}

/// <summary>
/// Reads records out of a JSON array or an NDJSON stream of any size in a buffer of bounded size: memory
/// depends on the largest record, never on the file. Each element is handed over only once it is complete
/// in the buffer, so handlers parse with a plain <see cref="Utf8JsonReader"/> and never see partial data.
/// </summary>
public sealed class JsonElementStream
{
    private readonly Stream _stream;
    private readonly JsonStreamShape _shape;
    private readonly int _maxElementBytes;
    private readonly JsonReaderOptions _readerOptions;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _eof;
    private JsonReaderState _state;
    private bool _inArray;
    private bool _afterArray;
    private bool _done;
    private long _bufferOffset; // absolute file offset of _buffer[0]
    private long _line = 1;     // line of _buffer[_start]
    private readonly bool _skipsBrokenLines;
    private long _stateLines;   // lines before the reader state's line 0: the state starts afresh after a broken line

    // skipsBrokenLines, NDJSON only: a line that is not valid JSON is handed over as a BrokenLine and reading goes on at
    // the next line, instead of ending the file there. Lines are independent in NDJSON, so the rows after a broken one
    // can still be read; a JSON array broken in the middle cannot be resumed.
    public JsonElementStream(Stream stream, JsonStreamShape shape, int maxDepth = 64, int bufferSize = 64 * 1024,
        int maxElementBytes = 16 * 1024 * 1024, bool skipsBrokenLines = false)
    {
        _stream = stream;
        _shape = shape;
        _skipsBrokenLines = skipsBrokenLines && shape == JsonStreamShape.Sequence;
        _maxElementBytes = maxElementBytes;
        _buffer = new byte[bufferSize];
        _readerOptions = new JsonReaderOptions
        {
            MaxDepth = maxDepth,
            AllowMultipleValues = shape == JsonStreamShape.Sequence,
            CommentHandling = JsonCommentHandling.Skip,
        };
        _state = new JsonReaderState(_readerOptions);
    }

    /// <summary>Records handed over so far; the next record's 0-based index.</summary>
    public long ElementIndex { get; private set; }

    /// <summary>Bytes of the file consumed through the last record handed over.</summary>
    public long BytesConsumed => _bufferOffset + _start;

    /// <summary>1-based line on which the record last handed over starts.</summary>
    public long ElementLine { get; private set; }

    /// <summary>
    /// Set when the record last handed over is a line that is not valid JSON (with <c>skipsBrokenLines</c>): the handler
    /// was not called for it; this says where it broke and why, and holds the line's text.
    /// </summary>
    public BrokenLine? BrokenLine { get; private set; }

    /// <summary>Hands the next record to <paramref name="handler"/>; false at the end of the file.</summary>
    public async ValueTask<bool> ReadNextAsync(JsonElementHandler handler, CancellationToken ct)
    {
        BrokenLine = null;
        while (true)
        {
            switch (TryReadElement(handler))
            {
                case Step.Element:
                    return true;
                case Step.End:
                    return false;
                case Step.NeedMore when _eof:
                    throw Malformed("truncated_file",
                        _shape == JsonStreamShape.Array && !_inArray && BytesConsumed == 0 && _end == _start
                            ? "The file is empty; expected a JSON array of rows like [{\"media_id\": \"...\", \"value\": ...}]."
                            : TruncatedMessage);
                default:
                    await FillAsync(ct);
                    break;
            }
        }
    }

    private const string TruncatedMessage = "The file ends in the middle of a row; it looks truncated. Upload the complete file.";

    private enum Step { Element, End, NeedMore }

    private Step TryReadElement(JsonElementHandler handler)
    {
        if (_done)
        {
            return Step.End;
        }
        if (_afterArray)
        {
            return TrailingContent();
        }
        var data = _buffer.AsSpan(_start, _end - _start);
        var reader = new Utf8JsonReader(data, _eof, _state);
        try
        {
            if (_shape == JsonStreamShape.Array && !_inArray)
            {
                if (!reader.Read())
                {
                    return Step.NeedMore;
                }
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw Malformed("not_an_array", reader, data,
                        "The file must be a JSON array of rows like [{\"media_id\": \"...\", \"value\": ...}], but it starts with something else.");
                }
                _inArray = true;
                Commit(ref reader, data);
                return TryReadElement(handler);
            }

            if (!reader.Read())
            {
                if (_eof && _shape == JsonStreamShape.Sequence)
                {
                    _done = true;
                    return Step.End;
                }
                return Step.NeedMore;
            }
            if (_shape == JsonStreamShape.Array && reader.TokenType == JsonTokenType.EndArray)
            {
                Commit(ref reader, data);
                _afterArray = true;
                return TrailingContent();
            }

            var elementStart = (int)reader.TokenStartIndex;
            ElementLine = _line + data[..elementStart].Count((byte)'\n');
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                // An object is handed over at once and read in one pass: the handler reads it up to its closing brace,
                // and standing there at the object's depth proves the whole object was in the buffer. Checking first
                // (TrySkip) would read every row twice. A handler that runs out of buffer stops short of it, and the
                // object is handed over again below once it is known to be complete.
                var optimistic = reader;
                handler(ref optimistic, data);
                if (optimistic.TokenType == JsonTokenType.EndObject && optimistic.CurrentDepth == reader.CurrentDepth)
                {
                    Commit(ref optimistic, data);
                    ElementIndex++;
                    return Step.Element;
                }
            }
            var probe = reader;
            if (!probe.TrySkip())
            {
                return Step.NeedMore;
            }
            var element = reader;
            handler(ref element, data);
            reader = probe;
            Commit(ref reader, data);
            ElementIndex++;
            return Step.Element;
        }
        catch (JsonException) when (_eof && IsCutOff(data))
        {
            throw Malformed("truncated_file", TruncatedMessage);
        }
        catch (JsonException e) when (_skipsBrokenLines)
        {
            return SkipBrokenLine(e, data);
        }
        catch (JsonException e)
        {
            throw Translate(e, data);
        }
    }

    /// <summary>Hands over the element that broke, through the end of the line it broke on, as a <see cref="BrokenLine"/>.</summary>
    private Step SkipBrokenLine(JsonException e, ReadOnlySpan<byte> data)
    {
        var (line, column, cause) = Where(e);
        var end = 0;
        for (var l = _line; l <= line; l++)
        {
            var newline = data[end..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                if (!_eof)
                {
                    return Step.NeedMore; // the rest of the line is not in the buffer yet
                }
                end = data.Length;
                break;
            }
            end += newline + 1;
        }
        // The element may have begun lines before the one it broke on (an object spread over lines): all of it goes.
        var first = Math.Max(0, data[..end].IndexOfAnyExcept(" \t\r\n"u8));
        ElementLine = _line + data[..first].Count((byte)'\n');
        BrokenLine = new BrokenLine(line, column, cause, Encoding.UTF8.GetString(data[first..end]).TrimEnd('\r', '\n'));
        _line += data[..end].Count((byte)'\n');
        _start += end;
        _state = new JsonReaderState(_readerOptions);
        _stateLines = _line - 1;
        ElementIndex++;
        return Step.Element;
    }

    /// <summary>The 1-based line and column a reader error names, counted from the file's start, and its cause.</summary>
    private (long Line, long Column, string Cause) Where(JsonException e)
    {
        // The reader's own message ends with "LineNumber: n | BytePositionInLine: m." which we report as fields instead.
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return ((e.LineNumber ?? 0) + _stateLines + 1, (e.BytePositionInLine ?? 0) + 1, cut > 0 ? message[..cut] : message);
    }

    /// <summary>Whether the bytes at the end of the file are fine as far as they go, so the file was cut off rather than wrong.</summary>
    private bool IsCutOff(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data, isFinalBlock: false, _state);
        try
        {
            while (reader.Read())
            {
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private Step TrailingContent()
    {
        var data = _buffer.AsSpan(_start, _end - _start);
        var reader = new Utf8JsonReader(data, _eof, new JsonReaderState(_readerOptions with { AllowMultipleValues = true }));
        try
        {
            if (reader.Read())
            {
                throw Malformed("trailing_content", reader, data,
                    "There is more content after the closing ']' of the array. Remove it, or send one array per file.");
            }
        }
        catch (JsonException e)
        {
            throw Translate(e, data);
        }
        if (!_eof)
        {
            return Step.NeedMore;
        }
        _done = true;
        return Step.End;
    }

    private void Commit(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        var consumed = (int)reader.BytesConsumed;
        _line += data[..consumed].Count((byte)'\n');
        _start += consumed;
        _state = reader.CurrentState;
    }

    private async ValueTask FillAsync(CancellationToken ct)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= _maxElementBytes)
            {
                throw Malformed("row_too_large",
                    $"A single row is larger than {_maxElementBytes / (1024 * 1024)} MiB, the most one row may take. Split or shorten it.");
            }
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, _maxElementBytes));
        }
        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), ct);
        if (read == 0)
        {
            _eof = true;
        }
        _end += read;
        // A UTF-8 byte-order mark, which Windows tools write, opens the text rather than belonging to it.
        if (_bufferOffset == 0 && _start == 0 && _end >= 3 && _buffer.AsSpan(0, 3).SequenceEqual(ByteOrderMark))
        {
            _start = 3;
        }
    }

    /// <summary>The UTF-8 byte-order mark, as bytes (<c>"\xEF\xBB\xBF"u8</c> would be the UTF-8 of three Latin-1 characters).</summary>
    public static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    private MalformedFileException Translate(JsonException e, ReadOnlySpan<byte> data)
    {
        var (line, column, message) = Where(e);
        var code = message.Contains("depth", StringComparison.OrdinalIgnoreCase) ? "too_deep" : "malformed_json";
        return new MalformedFileException(code,
            $"The file is not valid JSON at line {line}, column {column}: {message} Fix the file there and upload it again.",
            line, column, BytesConsumed);
    }

    private MalformedFileException Malformed(string code, Utf8JsonReader reader, ReadOnlySpan<byte> data, string message)
    {
        var at = (int)reader.TokenStartIndex;
        var line = _line + data[..at].Count((byte)'\n');
        var lastNewline = data[..at].LastIndexOf((byte)'\n');
        return new MalformedFileException(code, message, line, at - lastNewline, BytesConsumed + at);
    }

    private MalformedFileException Malformed(string code, string message) =>
        new(code, message, _line, 1, BytesConsumed);
}
