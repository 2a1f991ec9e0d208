using System.Text;
using System.Text.Json;

namespace Ingestion.Api.Infrastructure.Streaming;

/// <summary>
/// JSON may escape one half of a UTF-16 surrogate pair alone ("\ud800"). That is valid JSON but no character: .NET's
/// readers throw when asked for such a string, and PostgreSQL could not store it. Whoever reads strings from a client
/// reads them through here, and refuses that one value, not the request or the file.
/// </summary>
public static class JsonText
{
    /// <summary>What is wrong and how to fix it, for a message that names the value first.</summary>
    public const string UnpairedSurrogate =
        "escapes half of a UTF-16 surrogate pair without the other half (\\ud800 to \\udfff alone), which is no character. " +
        "Write the character itself, or both halves of its pair (\\ud83d\\ude00 for 😀).";

    /// <summary>
    /// The string token's text; false, with the text as written (escapes included, so it can be shown), for text that
    /// escapes half a surrogate pair alone. The reader must read one span, as the streaming readers here give it.
    /// </summary>
    public static bool TryGetString(ref Utf8JsonReader reader, out string text)
    {
        try
        {
            text = reader.GetString()!;
            return true;
        }
        catch (InvalidOperationException) when (reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            text = Encoding.UTF8.GetString(reader.ValueSpan);
            return false;
        }
    }

    /// <summary>
    /// Whether System.Text.Json failed to read a string for this reason; its deserializer reports it as the inner
    /// exception of a <see cref="JsonException"/>.
    /// </summary>
    public static bool IsUnpairedSurrogate(Exception? e) => e is InvalidOperationException && e.Message.Contains("UTF-16", StringComparison.Ordinal);
}
