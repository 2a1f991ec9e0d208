using System.Text.Json;
using Ingestion.Api.Infrastructure.Http;
using Ingestion.Api.Infrastructure.Streaming;
using Microsoft.AspNetCore.Http.HttpResults;
using Newtonsoft.Json.Linq;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Ingestion.Api.Features.Schemas;

/// <summary>A request body that was read, checked against its JSON Schema and bound, or the 400 that says why not.</summary>
public readonly record struct ValidatedBody<T>(T? Value, ValidationProblem? Problem);

/// <summary>
/// Reads a JSON request body and checks it against a document of schemas/ before binding it, so that a body
/// with several problems gets one 400 listing all of them, each keyed by its JSON path ("field_name",
/// "enum_options[2]", "$" for the body itself) with a message saying what is wrong and how to fix it.
/// </summary>
public static class ValidatedBody
{
    /// <summary>Key of problems with the body as a whole: not JSON, not an object.</summary>
    public const string BodyKey = "$";

    /// <summary>
    /// Binds as the schema reads: snake_case and case-sensitive. The HTTP defaults match names ignoring case, which
    /// would let a property the schema never checked ("FIELD_TYPE" beside "field_type") override one it did.
    /// </summary>
    private static readonly JsonSerializerOptions Binding = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<ValidatedBody<T>> ReadAsync<T>(HttpRequest request, BodySchema schema, string title, CancellationToken ct)
        where T : class
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(ct);
        if (string.IsNullOrWhiteSpace(text))
        {
            return Fail<T>(title, BodyKey, "The request body is empty. Send a JSON object (Content-Type: application/json).");
        }

        // System.Text.Json first: it is strict (no comments, single quotes or bare names, which Newtonsoft would
        // let through) and it is what binds the body in the end.
        try
        {
            using var _ = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            var line = (e.LineNumber ?? 0) + 1;
            var position = (e.BytePositionInLine ?? 0) + 1;
            var cause = e.Message.Split(" LineNumber:", 2)[0].TrimEnd();
            return Fail<T>(title, BodyKey, $"The request body is not valid JSON at line {line}, position {position}: {cause} Fix the JSON there.");
        }

        // Dates stay strings (Newtonsoft would turn "2024-02-24" into a date): the schema decides what a value is.
        JToken token;
        try
        {
            using var json = new Newtonsoft.Json.JsonTextReader(new StringReader(text)) { DateParseHandling = Newtonsoft.Json.DateParseHandling.None };
            token = JToken.Load(json, new JsonLoadSettings { LineInfoHandling = LineInfoHandling.Load });
        }
        catch (Newtonsoft.Json.JsonReaderException e)
        {
            // Valid JSON Newtonsoft still cannot hold, such as an integer of hundreds of digits.
            return Fail<T>(title, BodyKey, $"The request body cannot be read at line {e.LineNumber}, position {e.LinePosition}: " +
                                           $"{e.Message.Split(" Path '", 2)[0]} Fix the value there.");
        }
        // Newtonsoft holds a whole number beyond 64 bits as a BigInteger, which the schema validator cannot compare.
        if (Oversized(token) is { } big)
        {
            var at = (Newtonsoft.Json.IJsonLineInfo)big;
            var key = big.Path.Length == 0 ? BodyKey : big.Path;
            return Fail<T>(title, key, $"{key} is {big.ToString(Newtonsoft.Json.Formatting.None)} (line {at.LineNumber}, position {at.LinePosition}), " +
                                       "a whole number too large to read: whole numbers in a request body must fit in 64 bits. Fix the value there.");
        }
        var problems = Describe(schema.Validate(token), token);
        if (problems.Count > 0)
        {
            return new(null, TypedResults.ValidationProblem(problems, title: title,
                detail: string.Join(" ", problems.SelectMany(p => p.Value))));
        }
        try
        {
            return new(JsonSerializer.Deserialize<T>(text, Binding)!, null);
        }
        catch (JsonException e) when (JsonText.IsUnpairedSurrogate(e.InnerException))
        {
            // Text that escapes half a surrogate pair alone: Newtonsoft reads it as U+FFFD, so the schema passed it, but
            // the binder cannot read it as a string.
            var key = e.Path is null or "$" ? BodyKey : e.Path.TrimStart('$', '.');
            return Fail<T>(title, key, $"{key} {BindingProblem.At(e)} {JsonText.UnpairedSurrogate}");
        }
    }

    private static JValue? Oversized(JToken token) =>
        (token is JContainer container ? container.DescendantsAndSelf() : [token])
        .OfType<JValue>().FirstOrDefault(v => v.Value is System.Numerics.BigInteger);

    private static ValidatedBody<T> Fail<T>(string title, string key, string message) where T : class =>
        new(null, TypedResults.ValidationProblem(new Dictionary<string, string[]> { [key] = [message] }, title: title, detail: message));

    /// <summary>Problems keyed by JSON path, in the order they occur in the body.</summary>
    public static Dictionary<string, string[]> Describe(IEnumerable<ValidationError> errors, JToken body)
    {
        var problems = new List<(int Line, int Position, string Key, string Message)>();
        foreach (var e in errors)
        {
            foreach (var (key, message) in Messages(e, body))
            {
                problems.Add((e.LineNumber, e.LinePosition, key, message));
            }
        }
        return problems
            .OrderBy(p => p.Line).ThenBy(p => p.Position)
            .GroupBy(p => p.Key)
            .ToDictionary(g => g.Key, g => g.Select(p => p.Message).Distinct().ToArray());
    }

    private static IEnumerable<(string Key, string Message)> Messages(ValidationError e, JToken body)
    {
        var key = KeyOf(e);
        var schema = e.Schema;
        // The key is a Newtonsoft path too ("enum_options[2]"), so it finds the offending value in the body.
        var value = key == BodyKey ? body : body.SelectToken(key);
        var hint = schema?.Description is { } d ? " " + d : "";
        switch (e.Kind)
        {
            case ValidationErrorKind.PropertyRequired:
                var property = schema?.Properties.TryGetValue(e.Property ?? "", out var p) == true ? p.Description : null;
                yield return (key, $"{key} is required." + (property is null ? "" : " " + property));
                break;
            case ValidationErrorKind.ItemsNotUnique when value is JArray items:
                // The schema flags the array; the user needs to know which entries repeat.
                var seen = new Dictionary<string, int>(StringComparer.Ordinal);
                for (var i = 0; i < items.Count; i++)
                {
                    var item = items[i].ToString(Newtonsoft.Json.Formatting.None);
                    if (!seen.TryAdd(item, i))
                    {
                        yield return ($"{key}[{i}]", $"{key}[{i}] {Show(items[i])} repeats {key}[{seen[item]}]; each entry must be unique.");
                    }
                }
                break;
            case ValidationErrorKind.StringTooLong or ValidationErrorKind.StringTooShort:
                var length = value?.Type == JTokenType.String ? value.Value<string>()!.Length : 0;
                yield return (key, $"{key} {Show(value)} has {length} characters; {Range(schema?.MinLength, schema?.MaxLength, "characters")}.{hint}");
                break;
            case ValidationErrorKind.TooManyItems or ValidationErrorKind.TooFewItems:
                var count = value is JArray array ? array.Count : 0;
                yield return (key, $"{key} has {count} items; {Range(schema?.MinItems, schema?.MaxItems, "items")}.{hint}");
                break;
            case ValidationErrorKind.PatternMismatch:
                yield return (key, $"{key} {Show(value)} does not have the required form.{hint}");
                break;
            case ValidationErrorKind.NotInEnumeration:
                var allowed = string.Join(", ", schema?.Enumeration.Select(o => Newtonsoft.Json.JsonConvert.SerializeObject(o)) ?? []);
                yield return (key, $"{key} {Show(value)} is not one of {allowed}.{hint}");
                break;
            case ValidationErrorKind.ExcludedSchemaValidates:
                yield return (key, $"{key} {Show(value)} is not allowed here.{hint}");
                break;
            case ValidationErrorKind.NoTypeValidates:
            case var kind when kind.ToString().EndsWith("Expected", StringComparison.Ordinal):
                yield return (key, $"{key} must be {Expected(schema)}, not {Show(value)}.{hint}");
                break;
            default:
                yield return (key, $"{key} {Show(value)} is invalid ({e.Kind}).{hint}");
                break;
        }
    }

    /// <summary>"#/enum_options[2]" → "enum_options[2]"; a missing property is keyed by its own path.</summary>
    private static string KeyOf(ValidationError e)
    {
        var path = (e.Path ?? "#").TrimStart('#').TrimStart('/');
        if (e.Kind == ValidationErrorKind.PropertyRequired && e.Property is { } property && !path.EndsWith(property, StringComparison.Ordinal))
        {
            path = path.Length == 0 ? property : $"{path}.{property}";
        }
        return path.Length == 0 ? BodyKey : path;
    }

    private static string Range(int? min, int? max, string unit) => (min ?? 0, max) switch
    {
        (_, 0) => "none are allowed",
        (var low and > 0, { } high) => $"{low} to {high} {unit} are allowed",
        (_, { } high) => $"at most {high} {unit} are allowed",
        var (low, _) => $"at least {low} {unit} are needed",
    };

    private static string Expected(JsonSchema? schema)
    {
        if (schema is null)
        {
            return "of another type";
        }
        var names = Enum.GetValues<JsonObjectType>()
            .Where(t => t != JsonObjectType.None && schema.Type.HasFlag(t))
            .Select(t => t switch
            {
                JsonObjectType.Array => "an array",
                JsonObjectType.Object => "an object",
                JsonObjectType.Integer => "an integer",
                var other => "a " + other.ToString().ToLowerInvariant(),
            });
        return string.Join(" or ", names).Replace("a null", "null", StringComparison.Ordinal);
    }

    private static string Show(JToken? token)
    {
        if (token is null)
        {
            return "(nothing)";
        }
        var text = token.ToString(Newtonsoft.Json.Formatting.None);
        return text.Length <= 80 ? text : text[..79] + "…";
    }
}
