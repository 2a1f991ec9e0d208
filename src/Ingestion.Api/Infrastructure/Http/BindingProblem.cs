using System.Text.Json;
using System.Text.RegularExpressions;
using Ingestion.Api.Infrastructure.Streaming;

namespace Ingestion.Api.Infrastructure.Http;

/// <summary>
/// What a request the framework could not bind got wrong, in the words of the wire: the property's JSON path, where it
/// is in the body, and what it should be, rather than the .NET type it could not be converted to.
/// </summary>
public static partial class BindingProblem
{
    public static string Describe(BadHttpRequestException bad) => bad.InnerException switch
    {
        JsonException json when JsonText.IsUnpairedSurrogate(json.InnerException) =>
            $"{Key(json)} {At(json)} {JsonText.UnpairedSurrogate}",
        // "Cannot get the value of a token type 'Number' as a string.": what was sent, then what the property takes.
        JsonException { InnerException: InvalidOperationException inner } json when TokenAs().Match(inner.Message) is { Success: true } m =>
            $"{Key(json)} {At(json)} must be {Expected(m.Groups["type"].Value)}. Fix the value there.",
        // "Either the JSON value is not in a supported format, or is out of bounds for an Int32."
        JsonException { InnerException: { } inner } json when OutOfBoundsFor().Match(inner.Message) is { Success: true } m =>
            $"{Key(json)} {At(json)} must be {Expected(m.Groups["type"].Value)}" +
            $"{(m.Groups["type"].Value is "Int32" ? " from -2,147,483,648 to 2,147,483,647" : "")}. Fix the value there.",
        JsonException { Path: null or "$" } json when json.Message.StartsWith(NotConverted, StringComparison.Ordinal) =>
            "The request body must be a JSON object. Send {...} with the properties this endpoint documents.",
        JsonException json when json.Message.StartsWith(NotConverted, StringComparison.Ordinal) =>
            $"{Key(json)} {At(json)} is not a value it can take" +
            $"{(json.InnerException is { } e ? ": " + e.Message.TrimEnd('.') : "")}. Fix the value there.",
        JsonException json =>
            $"The request body is not valid JSON at line {Line(json)}, position {Position(json)}: " +
            $"{json.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].TrimEnd()} Fix the JSON there.",
        _ when bad.Message.Contains("no body was provided", StringComparison.Ordinal) || bad.Message.Contains("was not provided from body", StringComparison.Ordinal) =>
            "The request body is empty. Send a JSON object (Content-Type: application/json).",
        _ when FailedToBind().Match(bad.Message) is { Success: true } m =>
            $"The query parameter {m.Groups["name"].Value} is \"{m.Groups["value"].Value}\"; it must be {Expected(m.Groups["type"].Value)}.",
        _ => bad.Message,
    };

    private const string NotConverted = "The JSON value could not be converted";

    private static string Key(JsonException e) => e.Path is null or "$" ? "The request body" : e.Path.TrimStart('$', '.');

    private static long Line(JsonException e) => (e.LineNumber ?? 0) + 1;

    private static long Position(JsonException e) => (e.BytePositionInLine ?? 0) + 1;

    /// <summary>Where in the body System.Text.Json stopped, 1-based, as "(line n, position m)".</summary>
    public static string At(JsonException e) => $"(line {Line(e)}, position {Position(e)})";

    // The words of System.Text.Json's token messages, and the C# types of parameter binding (Nullable<int> is int).
    private static string Expected(string type) => (type.StartsWith("Nullable<", StringComparison.Ordinal) ? type["Nullable<".Length..^1] : type) switch
    {
        "string" => "a string",
        "bool" or "boolean" => "true or false",
        "int" or "long" or "short" or "Int32" or "Int64" or "Int16" => "a whole number",
        "number" or "double" or "float" or "decimal" or "Double" => "a number",
        "Guid" => "a UUID",
        "DateTime" or "DateTimeOffset" => "an RFC 3339 date and time",
        var other => other,
    };

    [GeneratedRegex(@"out of bounds for an? (?<type>\w+)\.?$")]
    private static partial Regex OutOfBoundsFor();

    [GeneratedRegex(@"as an? (?<type>string|boolean|number)\.?$")]
    private static partial Regex TokenAs();

    [GeneratedRegex(@"^Failed to bind parameter ""(?<type>.+) (?<name>[^ ""]+)"" from ""(?<value>.*)""\.$")]
    private static partial Regex FailedToBind();
}
