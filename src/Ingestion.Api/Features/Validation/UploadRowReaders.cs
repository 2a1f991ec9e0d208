using System.Text.Json;
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

    public static IUploadRowReader CreateReader(string format, Stream stream) => format switch
    {
        Json => new JsonUploadRowReader(stream, JsonStreamShape.Array),
        Ndjson => new JsonUploadRowReader(stream, JsonStreamShape.Sequence),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown upload format."),
    };
}

public sealed class JsonUploadRowReader : IUploadRowReader
{
    private readonly JsonElementStream _elements;
    private UploadRow? _row;
    private readonly JsonElementHandler _handler;

    public JsonUploadRowReader(Stream stream, JsonStreamShape shape)
    {
        _elements = new JsonElementStream(stream, shape);
        _handler = (ref Utf8JsonReader reader, ReadOnlySpan<byte> data) => JsonRowParser.Parse(ref reader, data, _row!);
    }

    public long BytesConsumed => _elements.BytesConsumed;

    public async ValueTask<bool> ReadAsync(UploadRow row, CancellationToken ct)
    {
        _row = row;
        row.Reset(_elements.ElementIndex);
        if (!await _elements.ReadNextAsync(_handler, ct))
        {
            return false;
        }
        row.Line = _elements.ElementLine;
        return true;
    }
}
