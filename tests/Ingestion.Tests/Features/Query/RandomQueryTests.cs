using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bogus;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Query;

/// <summary>
/// Thousands of random filters, run through the API and through a plain C# evaluator written here, over the
/// same Bogus-generated values; the two must select the same items. Every third filter goes as a JSON tree.
/// </summary>
[Collection(SharedAppCollection.Name)]
public sealed class RandomQueryTests(SharedApp shared)
{
    private const int Items = 400;
    private const int Queries = 2000;

    private abstract record Q;
    private sealed record P(Field Field, string Op, object[] Values) : Q;
    private sealed record And(Q[] Operands) : Q;
    private sealed record Or(Q[] Operands) : Q;
    private sealed record Not(Q Operand) : Q;

    private sealed record Field(string Name, string Type, string[]? Options = null, bool IsMulti = false);

    private static readonly string[] Words = ["front", "Front-Left", "rear", "REAR", "side 100%_x", "top \"quoted\"", @"back\slash", "roof cam", "dash_cam", "Frontier"];
    private static readonly DateTime Epoch = new(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly Field Temperature = new("temperature", "float");
    private static readonly Field Humidity = new("humidity", "float");
    private static readonly Field Taken = new("taken_at", "datetime");
    private static readonly Field Camera = new("camera", "string");
    private static readonly Field Url = new("url", "link");
    private static readonly Field Lighting = new("lighting", "enum", ["Sunny", "Cloudy", "Night", "Rain"]);
    private static readonly Field Colors = new("colors", "enum", ["red", "blue", "green", "black", "white"], IsMulti: true);
    private static readonly Field[] Fields = [Temperature, Humidity, Taken, Camera, Url, Lighting, Colors];

    [Fact]
    public async Task Random_filters_select_the_same_items_as_an_in_memory_evaluation()
    {
        var random = new Randomizer(20241122);
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync("random");
        var ids = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, Items).Select(i => $"r{i}.jpg"));
        var values = ids.ToDictionary(id => id, _ => new Dictionary<Field, object>());
        foreach (var field in Fields)
        {
            var rows = new List<object>();
            foreach (var id in ids)
            {
                if (random.Bool(0.2f))
                {
                    continue; // about a fifth of the items have no value for this field
                }
                var value = RandomValue(random, field);
                values[id][field] = value;
                rows.Add(new { media_id = id, value = value is DateTime t ? t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : value });
            }
            var (_, status) = await api.IngestAsync(dataset, field.Name, field.Type, rows, field.Options, field.IsMulti ? true : null);
            status["status"]!.GetValue<string>().ShouldBe("COMPLETED", status.ToJsonString());
        }

        var informative = 0;
        for (var n = 0; n < Queries; n++)
        {
            var q = RandomQuery(random, depth: 0);
            var text = Print(q, random);
            var asTree = n % 3 == 2;
            var actual = asTree
                ? await api.AllMatchesAsync(dataset, filter: Tree(q))
                : await api.AllMatchesAsync(dataset, query: text);
            var expected = ids.Where(id => Eval(q, values[id])).Order().ToList();
            actual.ShouldBe(expected, $"query #{n} ({(asTree ? "as JSON tree" : "as text")}): {text}");
            informative += expected.Count is > 0 and < Items ? 1 : 0;
        }
        // Guards the generator: filters that select nothing or everything would prove little.
        informative.ShouldBeGreaterThan(Queries / 2);
    }

    private static object RandomValue(Randomizer r, Field field) => field.Type switch
    {
        "float" when field == Temperature => r.Int(-10, 80) / 2.0,
        "float" => (double)r.Int(0, 100),
        "datetime" => Epoch.AddHours(r.Int(0, 47)),
        "string" => r.ArrayElement(Words),
        "link" => $"{r.ArrayElement(["https://cdn.example.com/", "http://origin.example.com/", "https://cdn.other.net/"])}{r.Int(0, 9)}.jpg",
        _ when field.IsMulti => r.Shuffle(field.Options!).Take(r.Int(1, 3)).ToArray(),
        _ => r.ArrayElement(field.Options!),
    };

    private static Q RandomQuery(Randomizer r, int depth)
    {
        var roll = depth >= 3 ? 0 : r.Int(0, 9);
        return roll switch
        {
            <= 5 => RandomPredicate(r),
            6 or 7 => new And(Enumerable.Range(0, r.Int(2, 3)).Select(_ => RandomQuery(r, depth + 1)).ToArray()),
            8 => new Or(Enumerable.Range(0, r.Int(2, 3)).Select(_ => RandomQuery(r, depth + 1)).ToArray()),
            _ => new Not(RandomQuery(r, depth + 1)),
        };
    }

    private static P RandomPredicate(Randomizer r)
    {
        var field = r.ArrayElement(Fields);
        string[] ops = field.Type switch
        {
            "float" or "datetime" => ["=", "!=", "<", "<=", ">", ">=", "BETWEEN", "EXISTS", "MISSING"],
            "string" or "link" => ["=", "!=", "CONTAINS", "STARTS WITH", "IN", "EXISTS", "MISSING"],
            _ when field.IsMulti => ["HAS ANY", "HAS ALL", "=", "EXISTS", "MISSING"],
            _ => ["=", "!=", "IN", "EXISTS", "MISSING"],
        };
        var op = r.ArrayElement(ops);
        object[] values = op switch
        {
            "EXISTS" or "MISSING" => [],
            "BETWEEN" => [Literal(r, field), Literal(r, field)],
            "IN" or "HAS ANY" or "HAS ALL" => Enumerable.Range(0, r.Int(1, 3)).Select(_ => Literal(r, field)).ToArray(),
            "=" when field.IsMulti => r.Shuffle(field.Options!).Take(r.Int(1, 3)).ToArray(),
            "CONTAINS" => [Fragment(r, Literal(r, field), anyCase: true)],
            "STARTS WITH" => [Fragment(r, Literal(r, field), anyCase: false)],
            _ => [Literal(r, field)],
        };
        return new P(field, op, values);
    }

    private static object Literal(Randomizer r, Field field) => field.Type switch
    {
        "float" => RandomValue(r, field),
        "datetime" => Epoch.AddHours(r.Int(-2, 49)).AddMinutes(r.Bool(0.1f) ? 30 : 0),
        "enum" => r.ArrayElement(field.Options!),
        _ => RandomValue(r, field),
    };

    /// <summary>A piece of a stored value, so CONTAINS and STARTS WITH hit often: a prefix or an inner substring.</summary>
    private static string Fragment(Randomizer r, object literal, bool anyCase)
    {
        var s = (string)literal;
        var start = anyCase ? r.Int(0, s.Length - 1) : 0;
        var piece = s.Substring(start, r.Int(1, s.Length - start));
        return anyCase && r.Bool() ? piece.ToUpperInvariant() : piece;
    }

    private static bool Eval(Q q, Dictionary<Field, object> item) => q switch
    {
        And a => a.Operands.All(o => Eval(o, item)),
        Or o => o.Operands.Any(x => Eval(x, item)),
        Not n => !Eval(n.Operand, item),
        P p when p.Op == "EXISTS" => item.ContainsKey(p.Field),
        P p when p.Op == "MISSING" => !item.ContainsKey(p.Field),
        // A predicate on a missing value is false.
        P p => item.TryGetValue(p.Field, out var v) && Holds(p, v),
        _ => throw new ArgumentOutOfRangeException(nameof(q)),
    };

    private static bool Holds(P p, object v)
    {
        if (v is string[] set)
        {
            var given = p.Values.Cast<string>().ToHashSet();
            return p.Op switch
            {
                "HAS ANY" => set.Any(given.Contains),
                "HAS ALL" => given.All(set.Contains),
                _ => given.SetEquals(set),
            };
        }
        if (v is string s)
        {
            var literal = (string)p.Values[0];
            return p.Op switch
            {
                "=" => s == literal,
                "!=" => s != literal,
                "CONTAINS" => s.Contains(literal, StringComparison.OrdinalIgnoreCase),
                "STARTS WITH" => s.StartsWith(literal, StringComparison.Ordinal),
                _ => p.Values.Contains(s),
            };
        }
        var c = (IComparable)v;
        return p.Op switch
        {
            "=" => c.CompareTo(p.Values[0]) == 0,
            "!=" => c.CompareTo(p.Values[0]) != 0,
            "<" => c.CompareTo(p.Values[0]) < 0,
            "<=" => c.CompareTo(p.Values[0]) <= 0,
            ">" => c.CompareTo(p.Values[0]) > 0,
            ">=" => c.CompareTo(p.Values[0]) >= 0,
            _ => c.CompareTo(p.Values[0]) >= 0 && c.CompareTo(p.Values[1]) <= 0,
        };
    }

    /// <summary>Prints the text language, with keywords and field names in random case, composites always in parentheses.</summary>
    private static string Print(Q q, Randomizer r)
    {
        string Case(string word) => r.Int(0, 2) switch { 0 => word.ToUpperInvariant(), 1 => word.ToLowerInvariant(), _ => word };
        string Child(Q c) => c is And or Or ? $"({Print(c, r)})" : Print(c, r);
        return q switch
        {
            And a => string.Join($" {Case("AND")} ", a.Operands.Select(Child)),
            Or o => string.Join($" {Case("OR")} ", o.Operands.Select(Child)),
            Not n => $"{Case("NOT")} {Child(n.Operand)}",
            P p => PrintPredicate(p, Case, r),
            _ => throw new ArgumentOutOfRangeException(nameof(q)),
        };
    }

    private static string PrintPredicate(P p, Func<string, string> @case, Randomizer r)
    {
        var head = $"{@case(p.Field.Name)} {@case(p.Op)}";
        string Lit(object v) => v switch
        {
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            // The same instant, written in a random offset.
            DateTime t => $"\"{new DateTimeOffset(t).ToOffset(TimeSpan.FromHours(r.Int(-5, 5))).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)}\"",
            _ => JsonSerializer.Serialize((string)v),
        };
        return p.Op switch
        {
            "EXISTS" or "MISSING" => head,
            "BETWEEN" => $"{head} {Lit(p.Values[0])} {@case("AND")} {Lit(p.Values[1])}",
            "IN" or "HAS ANY" or "HAS ALL" => $"{head} ({string.Join(", ", p.Values.Select(Lit))})",
            "=" when p.Field.IsMulti => $"{head} ({string.Join(",", p.Values.Select(Lit))})",
            _ => $"{head} {Lit(p.Values[0])}",
        };
    }

    private static JsonNode Tree(Q q) => q switch
    {
        And a => new JsonObject { ["and"] = new JsonArray(a.Operands.Select(Tree).ToArray()) },
        Or o => new JsonObject { ["or"] = new JsonArray(o.Operands.Select(Tree).ToArray()) },
        Not n => new JsonObject { ["not"] = Tree(n.Operand) },
        P p => TreePredicate(p),
        _ => throw new ArgumentOutOfRangeException(nameof(q)),
    };

    private static JsonObject TreePredicate(P p)
    {
        JsonNode Value(object v) => v switch
        {
            double d => JsonValue.Create(d),
            DateTime t => JsonValue.Create(t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
            _ => JsonValue.Create((string)v),
        };
        var node = new JsonObject { ["field"] = p.Field.Name, ["op"] = p.Op.ToLowerInvariant().Replace(' ', '_') };
        var isList = p.Op is "IN" or "HAS ANY" or "HAS ALL" or "BETWEEN" || (p.Op == "=" && p.Field.IsMulti);
        if (p.Values.Length > 0)
        {
            node["value"] = isList ? new JsonArray(p.Values.Select(Value).ToArray()) : Value(p.Values[0]);
        }
        return node;
    }
}
