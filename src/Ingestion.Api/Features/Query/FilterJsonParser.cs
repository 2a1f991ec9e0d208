using System.Globalization;
using System.Text.Json;

namespace Ingestion.Api.Features.Query;

/// <summary>
/// Reads the filter as a JSON tree, for programs: <c>{"and": [...]}</c>, <c>{"or": [...]}</c>, <c>{"not": {...}}</c>
/// and predicates <c>{"field": "temperature", "op": "&gt;", "value": 20}</c>. Lists (IN, HAS ANY/ALL, a multi-enum
/// set) and BETWEEN's two bounds are JSON arrays; EXISTS and MISSING take no value. Produces the same
/// <see cref="FilterSyntax"/> as the text language, so both go through one planner.
/// </summary>
public static class FilterJsonParser
{
    private const string Root = "filter";

    public static FilterSyntax Parse(JsonElement json) => Parse(json, Root, 0);

    private static FilterSyntax Parse(JsonElement json, string path, int depth)
    {
        var at = SourceRef.Json(path);
        if (depth > QueryTextParser.MaxDepth)
        {
            throw new FilterException($"The filter nests deeper than {QueryTextParser.MaxDepth} levels. Flatten it.", at);
        }
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new FilterException($"{path} must be an object: {{\"and\": [...]}}, {{\"or\": [...]}}, {{\"not\": {{...}}}} or {{\"field\": ..., \"op\": ..., \"value\": ...}}.", at);
        }
        if (json.TryGetProperty("and", out var and))
        {
            return new AndSyntax(Operands(and, $"{path}.and", depth), at);
        }
        if (json.TryGetProperty("or", out var or))
        {
            return new OrSyntax(Operands(or, $"{path}.or", depth), at);
        }
        if (json.TryGetProperty("not", out var not))
        {
            return new NotSyntax(Parse(not, $"{path}.not", depth + 1), at);
        }
        return Predicate(json, path);
    }

    private static List<FilterSyntax> Operands(JsonElement array, string path, int depth)
    {
        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() == 0)
        {
            throw new FilterException($"{path} must be a non-empty array of filters.", SourceRef.Json(path));
        }
        return array.EnumerateArray().Select((e, i) => Parse(e, $"{path}[{i}]", depth + 1)).ToList();
    }

    private static PredicateSyntax Predicate(JsonElement json, string path)
    {
        if (!json.TryGetProperty("field", out var field) || field.ValueKind != JsonValueKind.String)
        {
            throw new FilterException($"{path} needs \"field\" (a declared field name, as a string), or is \"and\", \"or\" or \"not\".", SourceRef.Json(path));
        }
        if (!json.TryGetProperty("op", out var opJson) || opJson.ValueKind != JsonValueKind.String)
        {
            throw new FilterException($"{path} needs \"op\": one of =, !=, <, <=, >, >=, between, contains, starts_with, in, has_any, has_all, exists, missing.", SourceRef.Json(path));
        }
        var opPath = SourceRef.Json($"{path}.op");
        var op = FilterOps.Parse(opJson.GetString()!)
            ?? throw new FilterException($"{path}.op \"{opJson.GetString()}\" is not an operator. Use one of =, !=, <, <=, >, >=, between, contains, starts_with, in, has_any, has_all, exists, missing.", opPath);
        var valuePath = $"{path}.value";
        var hasValue = json.TryGetProperty("value", out var value);
        if (op is FilterOp.Exists or FilterOp.Missing)
        {
            if (hasValue)
            {
                throw new FilterException($"{FilterOps.Text(op)} takes no value; remove {valuePath}.", SourceRef.Json(valuePath));
            }
            return new PredicateSyntax(field.GetString()!, SourceRef.Json($"{path}.field"), op, opPath, [], false);
        }
        if (!hasValue)
        {
            throw new FilterException($"{path} needs \"value\" for {FilterOps.Text(op)}.", SourceRef.Json(path));
        }
        var isList = value.ValueKind == JsonValueKind.Array;
        var values = isList
            ? value.EnumerateArray().Select((e, i) => Literal(e, $"{valuePath}[{i}]")).ToList()
            : [Literal(value, valuePath)];
        if (op == FilterOp.Between)
        {
            if (!isList || values.Count != 2)
            {
                throw new FilterException($"{valuePath} for BETWEEN must be an array of two bounds: [low, high].", SourceRef.Json(valuePath));
            }
            isList = false;
        }
        else if (isList && values.Count == 0)
        {
            throw new FilterException($"{valuePath} is an empty list; give at least one value.", SourceRef.Json(valuePath));
        }
        return new PredicateSyntax(field.GetString()!, SourceRef.Json($"{path}.field"), op, opPath, values, isList);
    }

    private static Literal Literal(JsonElement value, string path) => value.ValueKind switch
    {
        JsonValueKind.String => new Literal(LiteralKind.String, value.GetString()!, SourceRef.Json(path)),
        JsonValueKind.Number => new Literal(LiteralKind.Number, value.GetRawText(), SourceRef.Json(path)),
        _ => throw new FilterException($"{path} must be a string or a number, not {value.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture)}.", SourceRef.Json(path)),
    };
}
