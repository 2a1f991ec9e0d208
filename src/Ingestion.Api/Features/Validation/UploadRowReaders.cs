using System.Text.Json;
using CsvHelper;
using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Infrastructure.Streaming;

namespace Ingestion.Api.Features.Validation;

/// <summary>Reads the rows of one upload format. Throws <see cref="MalformedFileException"/> where the file itself breaks.</summary>
public interface IUploadRowReader
{
    /// <summary>Fills <paramref name="row"/> with the next row; false at the end of the file.</summary>
    ValueTask<bool> ReadAsync(UploadRow row, CancellationToken ct);

    /// <summary>Bytes of the file consumed through the last row read, for progress.</summary>
    long BytesConsumed { get; }
}

public static class UploadFormats
{
    public const string Json = "json";
    public const string Ndjson = "ndjson";
    public const string Csv = "csv";
    public const string Gzip = "gzip";

    public static readonly IReadOnlyList<string> All = [Json, Ndjson, Csv];

    /// <summary>
    /// The reader of a stored upload: decompressed as it is read when it was sent compressed, and guarded so
    /// that broken text (invalid UTF-8, an over-long line, corrupt gzip) ends the rows with one file error.
    /// </summary>
    public static GuardedRowReader Open(Stream stored, string format, string? compression, bool listValues, UploadLimits limits)
    {
        var text = compression == Gzip ? new GzipCheckedStream(stored) : stored;
        var guard = new TextGuardStream(text, format == Json ? null : limits.MaxLineBytes);
        IUploadRowReader reader = format switch
        {
            Json => new JsonUploadRowReader(guard, JsonStreamShape.Array, limits),
            Ndjson => new JsonUploadRowReader(guard, JsonStreamShape.Sequence, limits),
            Csv => new CsvUploadRowReader(guard, listValues, limits.MaxLineBytes),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown upload format."),
        };
        return new GuardedRowReader(reader, guard, compression is null ? null : stored);
    }
}

/// <summary>
/// Puts the break the text guard found first: a reader that stumbles over the end of a cut-off file would
/// otherwise report a truncation, or nothing at all, instead of the invalid byte or over-long line that cut it.
/// </summary>
public sealed class GuardedRowReader(IUploadRowReader inner, TextGuardStream guard, Stream? compressed) : IUploadRowReader, IDisposable
{
    // Progress of a compressed upload is measured in the stored (compressed) bytes that upload_bytes counts.
    public long BytesConsumed => compressed?.Position ?? inner.BytesConsumed;

    public async ValueTask<bool> ReadAsync(UploadRow row, CancellationToken ct)
    {
        bool read;
        try
        {
            read = await inner.ReadAsync(row, ct);
        }
        catch (MalformedFileException) when (guard.Failure is { } failure)
        {
            throw failure;
        }
        if (!read && guard.Failure is { } cut)
        {
            throw cut;
        }
        return read;
    }

    /// <summary>Releases the reader's buffers and the streams beneath it, the decompressor included.</summary>
    public void Dispose()
    {
        (inner as IDisposable)?.Dispose();
        guard.Dispose();
    }
}

public sealed class JsonUploadRowReader : IUploadRowReader
{
    private readonly JsonElementStream _elements;
    private UploadRow? _row;
    private readonly JsonElementHandler _handler;

    public JsonUploadRowReader(Stream stream, JsonStreamShape shape, UploadLimits limits)
    {
        _elements = new JsonElementStream(stream, shape, limits.MaxJsonDepth, maxElementBytes: limits.MaxLineBytes,
            skipsBrokenLines: shape == JsonStreamShape.Sequence);
        _handler = (ref Utf8JsonReader reader, ReadOnlySpan<byte> data) =>
        {
            _row!.Reset(_elements.ElementIndex);
            JsonRowParser.Parse(ref reader, data, _row);
        };
    }

    public long BytesConsumed => _elements.BytesConsumed;

    public async ValueTask<bool> ReadAsync(UploadRow row, CancellationToken ct)
    {
        _row = row;
        if (!await _elements.ReadNextAsync(_handler, ct))
        {
            return false;
        }
        if (_elements.BrokenLine is { } broken)
        {
            // An NDJSON line that is not JSON fails alone; the lines after it are read.
            row.Reset(_elements.ElementIndex - 1);
            row.ShapeErrorCode = RowErrorCodes.MalformedLine;
            row.ShapeError = $"Line {broken.Line} is not valid JSON at column {broken.Column}: {broken.Cause} " +
                             "The other lines were read; fix this one and send it in a follow-up task.";
            row.Kind = RowValueKind.Object;
            row.Text = ValueValidator.Truncate(broken.Text, 200);
        }
        row.Line = _elements.ElementLine;
        return true;
    }
}

/// <summary>
/// CSV (RFC 4180) with a header naming <c>media_id</c> or <c>file_name</c>, and <c>value</c>; other columns are
/// ignored. Cells are text: an empty cell is a missing value, and a multi-select cell holds a JSON array.
/// </summary>
public sealed class CsvUploadRowReader : IUploadRowReader, IDisposable
{
    private readonly CsvReader _csv;
    private readonly bool _listValues;
    private readonly Dictionary<long, CsvMalformedRecord> _unterminated = [];
    private int _mediaIdColumn = -1;
    private int _fileNameColumn = -1;
    private int _valueColumn = -1;
    private bool _headerRead;
    private long _rowIndex;

    // listValues: the field is a multi-select enum, whose cells hold JSON arrays.
    public CsvUploadRowReader(Stream stream, bool listValues, int maxRecordBytes)
    {
        _listValues = listValues;
        _csv = CsvReader.Create(stream, new CsvReaderOptions
        {
            Separator = ',',
            TrackLineNumbers = true,
            MaxRecordSize = maxRecordBytes,
            // Stray quotes are kept as text (RFC 4180 leniency); only a quote that never closes breaks the file.
            OnMalformedRecord = m =>
            {
                if (m.Reason == CsvMalformedReason.UnterminatedQuote)
                {
                    _unterminated[m.RecordNumber] = m;
                }
            },
        }, leaveOpen: true);
    }

    public long BytesConsumed => _csv.ByteOffset;

    public void Dispose() => _csv.Dispose();

    public async ValueTask<bool> ReadAsync(UploadRow row, CancellationToken ct)
    {
        try
        {
            if (!_headerRead)
            {
                await ReadHeaderAsync(ct);
            }
            row.Reset(_rowIndex);
            if (!await _csv.ReadAsync(ct))
            {
                return false;
            }
        }
        catch (CsvFormatException e)
        {
            throw new MalformedFileException(RowErrorCodes.RowTooLarge,
                $"The row starting at line {e.LineNumber} is longer than {_csv.Options.MaxRecordSize:N0} bytes, the most one row may take. " +
                "Most likely a quote opened there is never closed; rows before it were read. Close the quote, or shorten the row.",
                e.LineNumber, 1, e.ByteOffset);
        }
        // The header is record 1, so data record n is record n + 1.
        if (_unterminated.Remove(_csv.RowNumber + 1, out var malformed))
        {
            throw Unterminated(malformed);
        }
        row.Line = _csv.LineNumber;
        _rowIndex++;
        if (_mediaIdColumn >= 0 && !_csv.IsEmpty(_mediaIdColumn))
        {
            var text = _csv.GetString(_mediaIdColumn);
            if (Guid.TryParse(text, out var id))
            {
                row.MediaIdState = MediaIdState.Valid;
                row.MediaId = id;
            }
            else
            {
                row.MediaIdState = MediaIdState.Invalid;
                row.MediaIdText = text;
            }
        }
        if (_fileNameColumn >= 0 && !_csv.IsEmpty(_fileNameColumn))
        {
            row.FileName = _csv.GetString(_fileNameColumn);
        }
        if (!_csv.IsEmpty(_valueColumn))
        {
            ReadValue(row);
        }
        return true;
    }

    private void ReadValue(UploadRow row)
    {
        if (_listValues)
        {
            var cell = _csv.GetSpan(_valueColumn);
            var json = new Utf8JsonReader(cell, new JsonReaderOptions { MaxDepth = 4 });
            try
            {
                if (json.Read() && json.TokenType == JsonTokenType.StartArray)
                {
                    JsonRowParser.ReadValue(ref json, cell, row);
                    if (!json.Read())
                    {
                        return;
                    }
                }
            }
            catch (JsonException)
            {
                // Not a JSON array: kept as the string it is, which the validator reports as the wrong type.
            }
            row.Items.Clear();
            row.ItemsRaw = null;
        }
        row.Kind = RowValueKind.String;
        row.Text = _csv.GetString(_valueColumn);
    }

    private async ValueTask ReadHeaderAsync(CancellationToken ct)
    {
        _headerRead = true;
        await _csv.ReadHeaderAsync(ct);
        var found = _csv.Headers;
        if (found.Count == 0)
        {
            throw new MalformedFileException(RowErrorCodes.MissingCsvColumn,
                "The CSV file is empty; its first line must be a header naming the columns, like media_id,value.", 1, 1, 0);
        }
        _mediaIdColumn = _csv.TryGetFieldIndex("media_id", out var i) ? i : -1;
        _fileNameColumn = _csv.TryGetFieldIndex("file_name", out i) ? i : -1;
        _valueColumn = _csv.TryGetFieldIndex("value", out i) ? i : -1;
        var missing = _valueColumn < 0 ? "value" : null;
        if (_mediaIdColumn < 0 && _fileNameColumn < 0)
        {
            missing = missing is null ? "media_id (or file_name)" : "media_id (or file_name) and value";
        }
        if (missing is not null)
        {
            var columns = string.Join(", ", found.Select(h => $"'{ValueValidator.Truncate(h, 40)}'"));
            // Spreadsheets in many locales save "CSV" separated by semicolons; tab-separated files are common too.
            var separator = found.Count == 1 ? found[0].FirstOrDefault(c => c is ';' or '\t' or '|') : default;
            throw new MalformedFileException(RowErrorCodes.MissingCsvColumn,
                $"The CSV header has no {missing} column; the columns found are {columns}. " +
                "The first line must name the columns, like media_id,value (or file_name,value)." +
                (separator == default ? "" : $" The header looks separated by {(separator == '\t' ? "tabs" : $"'{separator}'")}: separate the columns with commas."),
                1, 1, 0);
        }
        // A column named twice would leave which one holds the values to chance.
        foreach (var name in new[] { "media_id", "file_name", "value" })
        {
            var at = found.Select((h, column) => (h, column)).Where(c => string.Equals(c.h.Trim(), name, StringComparison.OrdinalIgnoreCase))
                .Select(c => c.column + 1).ToList();
            if (at.Count > 1)
            {
                throw new MalformedFileException(RowErrorCodes.MissingCsvColumn,
                    $"The CSV header names {name} {at.Count} times (columns {string.Join(", ", at)}); name each column once, so that it is " +
                    "clear which one to read.", 1, at[1], 0);
            }
        }
    }

    /// <summary>Points at the opening quote that never closes, found by replaying the record's quoting.</summary>
    private static MalformedFileException Unterminated(CsvMalformedRecord record)
    {
        var raw = record.RawRecord;
        var opening = 0;
        var quoted = false;
        for (var i = 0; i < raw.Length; i++)
        {
            if (!quoted && raw[i] == '"' && (i == 0 || raw[i - 1] == ','))
            {
                quoted = true;
                opening = i;
            }
            else if (quoted && raw[i] == '"')
            {
                if (i + 1 < raw.Length && raw[i + 1] == '"')
                {
                    i++;
                }
                else
                {
                    quoted = false;
                }
            }
        }
        var before = raw.AsSpan(0, opening);
        var line = record.LineNumber + before.Count('\n');
        var column = opening - before.LastIndexOf('\n');
        return new MalformedFileException(RowErrorCodes.UnbalancedQuote,
            $"The quote at line {line}, column {column} is never closed, so the rest of the file would be one value; rows before it were read. " +
            "Close the quote, and write a quote inside a quoted value twice (\"\").",
            line, column, record.ByteOffset);
    }
}
