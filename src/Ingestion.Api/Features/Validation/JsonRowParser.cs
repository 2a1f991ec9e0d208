using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Ingestion.Api.Infrastructure.Streaming;

namespace Ingestion.Api.Features.Validation;

/// <summary>Turns one JSON element of an upload into an <see cref="UploadRow"/>. Unknown properties are ignored.</summary>
public static class JsonRowParser
{
    public static void Parse(ref Utf8JsonReader reader, ReadOnlySpan<byte> data, UploadRow row)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            var probe = reader;
            probe.TrySkip();
            var raw = Encoding.UTF8.GetString(data[start..(int)probe.BytesConsumed]);
            row.ShapeError = $"Row is {ValueValidator.Truncate(raw, 100)}, not an object. Each row must look like {{\"media_id\": \"...\", \"value\": ...}}.";
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("media_id"u8))
            {
                reader.Read();
                ReadMediaId(ref reader, data, row);
            }
            else if (reader.ValueTextEquals("value"u8))
            {
                reader.Read();
                ReadValue(ref reader, data, row);
            }
            else if (reader.ValueTextEquals("file_name"u8))
            {
                reader.Read();
                row.FileName = reader.TokenType == JsonTokenType.String ? Text(ref reader, row, "file_name") : null;
                reader.TrySkip();
            }
            else
            {
                reader.Read();
                reader.TrySkip();
            }
        }
    }

    private static void ReadMediaId(ref Utf8JsonReader reader, ReadOnlySpan<byte> data, UploadRow row)
    {
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped
            && Utf8Parser.TryParse(reader.ValueSpan, out Guid id, out var consumed) && consumed == reader.ValueSpan.Length)
        {
            row.MediaIdState = MediaIdState.Valid;
            row.MediaId = id;
            return;
        }
        var text = reader.TokenType == JsonTokenType.String ? Text(ref reader, row, "media_id") : null;
        if (row.UnpairedSurrogateIn is null && Guid.TryParse(text, out id))
        {
            row.MediaIdState = MediaIdState.Valid;
            row.MediaId = id;
            return;
        }
        if (reader.TokenType == JsonTokenType.Null)
        {
            row.MediaIdState = MediaIdState.Missing;
            return;
        }
        row.MediaIdState = MediaIdState.Invalid;
        row.MediaIdText = text ?? RawText(ref reader, data);
    }

    internal static void ReadValue(ref Utf8JsonReader reader, ReadOnlySpan<byte> data, UploadRow row)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                row.Kind = RowValueKind.String;
                row.Text = Text(ref reader, row, "value");
                break;
            case JsonTokenType.Number:
                row.Kind = RowValueKind.Number;
                if (reader.TryGetDouble(out var d) && double.IsFinite(d))
                {
                    row.Number = d;
                }
                else
                {
                    row.Text = Encoding.UTF8.GetString(reader.ValueSpan);
                }
                break;
            case JsonTokenType.True or JsonTokenType.False:
                row.Kind = RowValueKind.Boolean;
                row.Boolean = reader.GetBoolean();
                break;
            case JsonTokenType.Null:
                row.Kind = RowValueKind.Null;
                break;
            case JsonTokenType.StartArray:
                row.Kind = RowValueKind.Array;
                var start = (int)reader.TokenStartIndex;
                var allStrings = true;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        row.Items.Add(Text(ref reader, row, "value"));
                    }
                    else
                    {
                        allStrings = false;
                        row.Items.Add(null);
                        reader.TrySkip();
                    }
                }
                if (!allStrings)
                {
                    row.ItemsRaw = Encoding.UTF8.GetString(data[start..(int)reader.BytesConsumed]);
                }
                break;
            case JsonTokenType.StartObject:
                row.Kind = RowValueKind.Object;
                row.Text = RawText(ref reader, data);
                break;
        }
    }

    /// <summary>The string token's text; text that escapes half a surrogate pair alone marks the row to be refused.</summary>
    private static string Text(ref Utf8JsonReader reader, UploadRow row, string property)
    {
        if (row.Options is { } options && !reader.ValueIsEscaped && !reader.HasValueSequence
            && property == "value" && options.TryGet(reader.ValueSpan, out var option))
        {
            return option;
        }
        if (!JsonText.TryGetString(ref reader, out var text))
        {
            row.UnpairedSurrogateIn ??= property;
        }
        return text;
    }

    private static string RawText(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        var start = (int)reader.TokenStartIndex;
        reader.TrySkip();
        var end = (int)reader.BytesConsumed;
        return ValueValidator.Truncate(Encoding.UTF8.GetString(data[start..end]), 200);
    }
}
