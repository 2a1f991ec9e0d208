using System.Text;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// An enum field's options by their UTF-8 bytes, so that a row's value that spells an option is read as the option's
/// own string instead of a new one: a multi-select row of two options made two strings before (66 of its 115 bytes of
/// garbage), only for them to be looked up and dropped. Options are at most 20 characters, so the table is kept by
/// byte length and each length's few options are compared whole.
/// </summary>
public sealed class OptionTexts
{
    private readonly (byte[] Utf8, string Text)[][] _byLength;

    public OptionTexts(IEnumerable<string> options)
    {
        var encoded = options.Distinct(StringComparer.Ordinal).Select(o => (Utf8: Encoding.UTF8.GetBytes(o), Text: o)).ToList();
        _byLength = new (byte[], string)[encoded.Count == 0 ? 1 : encoded.Max(o => o.Utf8.Length) + 1][];
        for (var length = 0; length < _byLength.Length; length++)
        {
            _byLength[length] = [.. encoded.Where(o => o.Utf8.Length == length)];
        }
    }

    /// <summary>The option <paramref name="utf8"/> spells, if any (unescaped JSON string bytes).</summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out string text)
    {
        if (utf8.Length < _byLength.Length)
        {
            foreach (var (bytes, option) in _byLength[utf8.Length])
            {
                if (utf8.SequenceEqual(bytes))
                {
                    text = option;
                    return true;
                }
            }
        }
        text = "";
        return false;
    }
}
