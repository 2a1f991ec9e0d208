using System.IO.Compression;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Streaming;
using Microsoft.Net.Http.Headers;

namespace Ingestion.Api.Features.Uploads;

/// <summary>Tells which format an upload is in, from what the client said about it and, failing that, its first bytes.</summary>
public static class UploadFormatDetection
{
    private const int SniffBytes = 4096;

    public static bool IsGzip(ReadOnlySpan<byte> head) => head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b;

    /// <summary>The file name's extension wins (clients often send every part as octet-stream), then the content type, then the bytes.</summary>
    public static string Detect(string? fileName, string? contentType, ReadOnlySpan<byte> head, string? compression) =>
        FromFileName(fileName) ?? FromContentType(contentType) ?? Sniff(compression == UploadFormats.Gzip ? Decompress(head) : head);

    private static string? FromFileName(string? fileName)
    {
        if (fileName is null)
        {
            return null;
        }
        var name = fileName.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? fileName[..^3] : fileName;
        return Path.GetExtension(name).ToLowerInvariant() switch
        {
            ".json" => UploadFormats.Json,
            ".ndjson" or ".jsonl" => UploadFormats.Ndjson,
            ".csv" => UploadFormats.Csv,
            _ => null,
        };
    }

    /// <summary>application/json is left to the bytes: clients label NDJSON with it too.</summary>
    private static string? FromContentType(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            ? parsed.MediaType.Value?.ToLowerInvariant() switch
            {
                "application/x-ndjson" or "application/ndjson" or "application/jsonl" or "application/x-jsonlines" => UploadFormats.Ndjson,
                "text/csv" or "application/csv" => UploadFormats.Csv,
                _ => null,
            }
            : null;

    /// <summary>A JSON array opens with '[', NDJSON with '{'; anything else is taken for a CSV header.</summary>
    private static string Sniff(ReadOnlySpan<byte> head)
    {
        var bom = JsonElementStream.ByteOrderMark;
        var text = (head.StartsWith(bom) ? head[bom.Length..] : head).TrimStart(" \t\r\n"u8);
        return text.IsEmpty ? UploadFormats.Json : text[0] switch
        {
            (byte)'[' => UploadFormats.Json,
            (byte)'{' => UploadFormats.Ndjson,
            _ => UploadFormats.Csv,
        };
    }

    /// <summary>The first decompressed bytes of a gzip head; as many as it yields when the head is cut or corrupt.</summary>
    private static byte[] Decompress(ReadOnlySpan<byte> head)
    {
        using var gzip = new GZipStream(new MemoryStream(head.ToArray()), CompressionMode.Decompress);
        var buffer = new byte[SniffBytes];
        var filled = 0;
        try
        {
            int n;
            while (filled < buffer.Length && (n = gzip.Read(buffer, filled, buffer.Length - filled)) > 0)
            {
                filled += n;
            }
        }
        catch (InvalidDataException)
        {
            // Sniff what came out; the job reports the corruption with its position.
        }
        return buffer[..filled];
    }
}
