using Newtonsoft.Json.Linq;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Ingestion.Api.Features.Schemas;

/// <summary>
/// A request-body JSON Schema from schemas/, compiled once. NJsonSchema 10.7.2 does not implement draft-07's
/// if/then (it keeps them as unknown keywords and lets everything pass), so the conditional entries of the
/// document's top-level allOf are compiled apart and applied here: when the body matches 'if', it must match 'then'.
/// </summary>
public sealed class BodySchema
{
    private readonly JsonSchema _schema;
    private readonly IReadOnlyList<(JsonSchema If, JsonSchema Then)> _conditions;

    private BodySchema(JsonSchema schema, IReadOnlyList<(JsonSchema If, JsonSchema Then)> conditions)
    {
        _schema = schema;
        _conditions = conditions;
    }

    public static async Task<BodySchema> FromJsonAsync(string json)
    {
        var conditions = new List<(JsonSchema, JsonSchema)>();
        foreach (var entry in JObject.Parse(json)["allOf"] as JArray ?? [])
        {
            if (entry["if"] is JObject condition && entry["then"] is JObject consequence)
            {
                conditions.Add((await JsonSchema.FromJsonAsync(condition.ToString()), await JsonSchema.FromJsonAsync(consequence.ToString())));
            }
        }
        return new BodySchema(await JsonSchema.FromJsonAsync(json), conditions);
    }

    /// <summary>Every problem of the body, nested ones (array items, anyOf branches) flattened.</summary>
    public List<ValidationError> Validate(JToken body)
    {
        var errors = Flatten(_schema.Validate(body)).ToList();
        foreach (var (condition, consequence) in _conditions)
        {
            if (condition.Validate(body).Count == 0)
            {
                errors.AddRange(Flatten(consequence.Validate(body)));
            }
        }
        return errors;
    }

    private static IEnumerable<ValidationError> Flatten(IEnumerable<ValidationError> errors) =>
        errors.SelectMany(e => e is ChildSchemaValidationError child
            ? Flatten(child.Errors.SelectMany(branch => branch.Value))
            : [e]);
}
