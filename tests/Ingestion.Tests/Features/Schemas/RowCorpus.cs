using System.Globalization;
using System.Text.Json;
using Bogus;

namespace Ingestion.Tests.Features.Schemas;

/// <summary>One upload row as JSON text. A known gap is a row the row schema cannot judge (see <see cref="RowCorpus"/>).</summary>
public sealed record CorpusRow(string Json, bool KnownGap = false);

/// <summary>
/// Bogus-generated upload rows, valid and invalid, for every field type, with the edge cases users hit:
/// numeric strings, NaN and infinities, datetimes with and without offsets in odd formats, options differing
/// by case, repeated options, empty arrays, non-string items, URLs of other schemes, relative or too long,
/// strings at and over 4096 characters, NUL, missing or malformed media references and file_name rows.
/// The one known gap: floats beyond ±1.8e308, which a JSON Schema cannot bound (NJsonSchema reads bounds as
/// decimal, and a numeric string's magnitude is beyond a pattern); the service refuses them as float_not_finite.
/// </summary>
public sealed class RowCorpus(int seed)
{
    public static readonly string[] Options = ["Sunny", "Cloudy", "Partly cloudy", "Ünïcode ☀", "x", "sunny day"];

    private readonly Faker _f = new() { Random = new Randomizer(seed) };

    public IEnumerable<CorpusRow> Rows(string kind, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (_f.Random.Int(0, 99) < 2)
            {
                yield return new CorpusRow(_f.PickRandom("42", "\"a row\"", "[1, 2]", "null", "true", "[]"));
                continue;
            }
            var (value, gap) = kind switch
            {
                "string" => (StringValue(), false),
                "float" => FloatValue(),
                "datetime" => (DatetimeValue(), false),
                "enum" => (EnumValue(), false),
                "enum_multi" => (MultiEnumValue(), false),
                "link" => (LinkValue(), false),
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            };
            var parts = new List<string>();
            if (MediaReference() is { } media)
            {
                parts.Add(media);
            }
            if (value is not null)
            {
                parts.Add($"\"value\": {value}");
            }
            if (_f.Random.Bool(0.1f))
            {
                parts.Add($"\"note\": {Q(_f.Lorem.Word())}");
            }
            yield return new CorpusRow("{" + string.Join(", ", _f.Random.Shuffle(parts)) + "}", gap);
        }
    }

    private static string Q(string s) => JsonSerializer.Serialize(s);

    private string Id() => _f.Random.Guid().ToString();

    /// <summary>A media_id and/or file_name fragment; null for a row with neither.</summary>
    private string? MediaReference()
    {
        var file = Q(_f.System.FileName("jpg"));
        return _f.Random.Int(0, 99) switch
        {
            < 40 => $"\"media_id\": {Q(Id())}",
            < 45 => $"\"media_id\": {Q(Id().ToUpperInvariant())}",
            < 48 => $"\"media_id\": {Q(_f.Random.Guid().ToString(_f.PickRandom("N", "B", "P", "X")))}",
            < 50 => $"\"media_id\": {Q(" " + Id() + "\t")}",
            < 53 => $"\"media_id\": \"\\u0030{Id()[1..]}\"",
            < 70 => $"\"file_name\": {file}",
            < 75 => $"\"media_id\": null, \"file_name\": {file}",
            < 80 => $"\"media_id\": {Q(Id())}, \"file_name\": {file}",
            < 82 => null,
            < 83 => "\"media_id\": null",
            < 85 => $"\"media_id\": {Q(_f.Random.AlphaNumeric(_f.Random.Int(0, 40)))}",
            < 86 => $"\"media_id\": {Q(Id() + "0")}",
            < 87 => $"\"media_id\": {Q("{" + Id() + ")")}",
            < 88 => $"\"media_id\": {Q(Id()[..35])}",
            < 90 => $"\"media_id\": {_f.PickRandom("123", "true", "{\"id\": 1}", $"[{Q(Id())}]", "1.5")}",
            < 92 => $"\"media_id\": {Q(_f.Lorem.Word())}, \"file_name\": {file}",
            < 94 => $"\"file_name\": {_f.PickRandom("42", "null", "[\"a.jpg\"]")}",
            _ => $"\"media_id\": {Q(Id())}",
        };
    }

    /// <summary>A value that is not of the field's kind at all, or absent (null), or JSON null.</summary>
    private string? OtherValue() => _f.Random.Int(0, 9) switch
    {
        0 => null,
        1 => "null",
        2 => _f.Random.Int(-1000, 1000).ToString(CultureInfo.InvariantCulture),
        3 => _f.Random.Bool() ? "true" : "false",
        4 => "{\"text\": \"a\"}",
        5 => "[]",
        6 => $"[{Q(_f.Lorem.Word())}]",
        7 => "1.5",
        8 => "[1, null]",
        _ => "false",
    };

    private string? StringValue() => _f.Random.Int(0, 99) switch
    {
        < 30 => Q(_f.Lorem.Sentence()),
        < 38 => Q(_f.Lorem.Paragraphs(_f.Random.Int(1, 8))),
        < 42 => Q(""),
        < 50 => Q(_f.Random.Utf16String(0, 64, excludeSurrogates: true)),
        < 58 => Q(new string('a', _f.PickRandom(4095, 4096, 4097, 5000))),
        < 62 => Q(_f.Random.String2(_f.PickRandom(4096, 4097), "abcdé 中文\n\t\"\\")),
        < 66 => Q(string.Concat(Enumerable.Repeat("😀", _f.PickRandom(2047, 2048, 2049)))),
        < 74 => Q(WithNul(_f.Lorem.Sentence())),
        < 78 => Q(_f.PickRandom("123", "true", "null", "2024-02-24T10:00:00Z", "https://example.com")),
        _ => OtherValue(),
    };

    private string WithNul(string s)
    {
        var at = _f.Random.Int(0, s.Length);
        return s[..at] + "\0" + s[at..];
    }

    private (string? Value, bool Gap) FloatValue() => _f.Random.Int(0, 99) switch
    {
        < 20 => (_f.Random.Double(-1e6, 1e6).ToString("R", CultureInfo.InvariantCulture), false),
        < 25 => (_f.Random.Long().ToString(CultureInfo.InvariantCulture), false),
        < 30 => (_f.PickRandom("0", "-0", "1E+10", "5e-324", "1.7976931348623157e308", "-1.7976931348623157e308", "1e308", "0.000001", "1.0"), false),
        < 42 => (Q(NumericText()), false),
        < 48 => (Q(Pad(NumericText())), false),
        < 58 => (Q(_f.PickRandom("NaN", "nan", "Infinity", "-Infinity", "infinity", "+Infinity", "∞", "-∞")), false),
        < 66 => (Q(_f.PickRandom("", " ", "abc", "1,5", "1 000", "0x1F", "1e", "e5", "1.2.3", "--1", "1_000", "١٢", "12px", "$5", ".", "+-1", "1e5.5")), false),
        // Beyond the double range: the known gap.
        < 74 => (_f.PickRandom("1e400", "-1e309", "2e308", "1" + new string('0', 400), "-" + new string('9', 320)), true),
        < 78 => (Q(_f.PickRandom("1e400", "-2e308", "1" + new string('0', 320), "9e99999")), true),
        _ => (OtherValue(), false),
    };

    private string NumericText()
    {
        var d = _f.Random.Double(-1e9, 1e9);
        return _f.Random.Int(0, 5) switch
        {
            0 => d.ToString("R", CultureInfo.InvariantCulture),
            1 => d.ToString("E3", CultureInfo.InvariantCulture),
            2 => ((long)d).ToString(CultureInfo.InvariantCulture),
            3 => "+" + Math.Abs(d).ToString("F2", CultureInfo.InvariantCulture),
            4 => _f.PickRandom(".5", "5.", "-.25e-3", "+0.0", "007", "1e-400"),
            _ => d.ToString("0.###e+0", CultureInfo.InvariantCulture),
        };
    }

    private string Pad(string s) => _f.PickRandom(" ", "\t", "\n", "  ") + s + _f.PickRandom("", " ", "\r\n");

    private string? DatetimeValue()
    {
        var roll = _f.Random.Int(0, 99);
        if (roll >= 85)
        {
            return roll < 93
                ? Q(_f.PickRandom("2024/02/24 10:00Z", "Sat, 24 Feb 2024 10:00:00 GMT", "1708768800", "2024-02-24", "10:00:00Z",
                    "2024-02-24T10:00:00 UTC", "24.02.2024 10:00 +01:00", "2024-W08-6T10:00Z", "20240224T100000Z", "now", ""))
                : OtherValue();
        }
        var when = _f.Date.Between(new DateTime(1000, 1, 1), new DateTime(2999, 12, 31));
        var date = _f.Random.Int(0, 19) switch
        {
            0 => $"{when.Year:0000}-02-{_f.Random.Int(28, 31):00}",
            1 => $"{when.Year:0000}-{_f.PickRandom(4, 6, 9, 11):00}-31",
            2 => $"{when.Year:0000}-{_f.PickRandom(0, 13):00}-{when.Day:00}",
            3 => $"{_f.PickRandom(1900, 2000, 2023, 2024, 2100, 1600):0000}-02-29",
            4 => $"0000-{when.Month:00}-{when.Day:00}",
            5 => $"{when.Year:0000}-{when.Month}-{when.Day}",
            _ => when.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        };
        var separator = _f.Random.WeightedRandom(["T", " ", "t", "  ", "_"], [0.6f, 0.3f, 0.04f, 0.03f, 0.03f]);
        var time = _f.Random.Int(0, 19) switch
        {
            0 => $"{_f.PickRandom(24, 25):00}:{when.Minute:00}",
            1 => $"{when.Hour:00}:60:00",
            2 => $"{when.Hour:00}:{when.Minute:00}:60",
            3 => $"{when.Hour}:{when.Minute:00}:{when.Second:00}",
            < 8 => $"{when.Hour:00}:{when.Minute:00}",
            < 12 => $"{when.Hour:00}:{when.Minute:00}:{when.Second:00}.{_f.Random.String2(_f.Random.Int(0, 8), "0123456789")}",
            _ => $"{when.Hour:00}:{when.Minute:00}:{when.Second:00}",
        };
        var sign = _f.PickRandom("+", "-");
        var hours = _f.Random.WeightedRandom([0, 1, 2, 5, 9, 12, 13, 14, 15, 23], [0.2f, 0.15f, 0.15f, 0.1f, 0.1f, 0.1f, 0.05f, 0.07f, 0.04f, 0.04f]);
        var minutes = _f.PickRandom(0, 0, 30, 45, 59, 60);
        var offset = _f.Random.Int(0, 19) switch
        {
            < 6 => "Z",
            < 10 => $"{sign}{hours:00}:{minutes:00}",
            10 => $"{sign}{hours}:{minutes:00}",
            11 => $"{sign}{hours:00}{minutes:00}",
            12 => $"{sign}{hours}{minutes:00}",
            13 => $"{sign}{hours:00}",
            14 => _f.PickRandom("z", " Z", "UTC", "GMT", "+02:00:00", "−02:00"),
            _ => "",
        };
        var text = date + separator + time + offset;
        return Q(_f.Random.Bool(0.1f) ? Pad(text) : text);
    }

    private string Option() => _f.PickRandom(Options);

    private string Misspelt(string option) => _f.Random.Int(0, 4) switch
    {
        0 => option.ToUpperInvariant(),
        1 => option.ToLowerInvariant() == option ? option + " " : option.ToLowerInvariant(),
        2 => " " + option,
        3 => option + "s",
        _ => "",
    };

    private string? EnumValue() => _f.Random.Int(0, 99) switch
    {
        < 55 => Q(Option()),
        < 75 => Q(Misspelt(Option())),
        < 80 => Q(_f.Lorem.Word()),
        < 85 => $"[{Q(Option())}]",
        _ => OtherValue(),
    };

    private string? MultiEnumValue()
    {
        var picks = _f.Random.Shuffle(Options).Take(_f.Random.Int(1, Options.Length)).Select(Q).ToList();
        switch (_f.Random.Int(0, 99))
        {
            case < 50:
                return $"[{string.Join(", ", picks)}]";
            case < 58:
                picks.Insert(_f.Random.Int(0, picks.Count), picks[_f.Random.Int(0, picks.Count - 1)]);
                return $"[{string.Join(", ", picks)}]";
            case < 64:
                return _f.PickRandom("[]", "[ ]");
            case < 72:
                picks.Insert(_f.Random.Int(0, picks.Count), _f.PickRandom("1", "null", "true", "[\"Sunny\"]", "{}"));
                return $"[{string.Join(", ", picks)}]";
            case < 80:
                picks.Insert(_f.Random.Int(0, picks.Count), Q(Misspelt(Option())));
                return $"[{string.Join(", ", picks)}]";
            case < 86:
                return Q(Option());
            default:
                return OtherValue();
        }
    }

    private string? LinkValue()
    {
        var host = _f.Random.Int(0, 9) switch
        {
            0 => _f.Internet.Ip(),
            1 => "[::1]",
            2 => "bücher.example",
            3 => "localhost",
            _ => _f.Internet.DomainName(),
        };
        var port = _f.Random.Int(0, 9) switch
        {
            0 => ":" + _f.Random.Int(0, 65535),
            1 => ":" + _f.PickRandom("65536", "99999", "", "8o"),
            _ => "",
        };
        var path = _f.Random.Int(0, 5) switch
        {
            0 => "",
            1 => "/",
            2 => "/" + string.Join('/', _f.Lorem.Words(_f.Random.Int(1, 4))) + "." + _f.System.FileExt(),
            3 => $"/search?q={Uri.EscapeDataString(_f.Lorem.Word())}&page={_f.Random.Int(1, 9)}",
            4 => "/a#" + _f.Lorem.Word(),
            _ => "/%E4%B8%AD?x=%zz",
        };
        var scheme = _f.Random.WeightedRandom(["https", "http", "HTTPS", "Http"], [0.6f, 0.3f, 0.05f, 0.05f]);
        var user = _f.Random.Bool(0.05f) ? "user:pw@" : "";
        var url = $"{scheme}://{user}{host}{port}{path}";
        return _f.Random.Int(0, 99) switch
        {
            < 45 => Q(url),
            < 50 => Q(_f.Random.Bool() ? _f.Internet.Url() : _f.Internet.UrlWithPath()),
            < 55 => Q(LongUrl(_f.PickRandom(2047, 2048, 2049, 3000))),
            < 58 => Q("https://example.com/" + new string('p', 2048 - 20)),
            < 70 => Q(_f.PickRandom("ftp://example.com/a.jpg", "mailto:a@example.com", "file:///etc/passwd", "javascript:alert(1)",
                "data:text/plain,hi", "urn:isbn:123", "//example.com/a", "example.com", "www.example.com/a")),
            < 80 => Q(_f.PickRandom("/a/b.jpg", "a/b.jpg", "http://", "https://", "http:///x", "https:///", "http:a.com", "http:/a.com",
                "https://a..com", "https://.a.com", "https://a.com./x", "http://-a.com", "http://a_b.com", "https://[zz]/", "https://a%20b.com")),
            < 90 => Q(Broken(url)),
            _ => OtherValue(),
        };
    }

    private string LongUrl(int length)
    {
        var start = $"https://{_f.Internet.DomainName()}/";
        return start + new string('a', length - start.Length);
    }

    /// <summary>A URL with whitespace, a control character or a backslash somewhere in it.</summary>
    private string Broken(string url)
    {
        var at = _f.Random.Int("https://".Length, url.Length);
        return _f.Random.Int(0, 6) switch
        {
            0 => " " + url,
            1 => url + "\n",
            2 => url.Replace("://", ":\\\\"),
            3 => url[..at] + "\\" + url[at..],
            _ => url[..at] + _f.PickRandom(" ", "\t", "\r", "\n", "\u0001", "\u007f") + url[at..],
        };
    }
}
