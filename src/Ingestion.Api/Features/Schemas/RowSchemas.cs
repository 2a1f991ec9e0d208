using System.Text.Json.Nodes;
using Ingestion.Api.Features.Fields;

namespace Ingestion.Api.Features.Schemas;

/// <summary>
/// Cuts the JSON Schema of one upload row of a declared field out of schemas/upload-row.schema.json: the
/// template's 'value' is replaced by the definition of the field's type, with the field's options filled in
/// where the template holds the placeholder. The result is self-contained (no $ref), so any draft-07 tool reads it.
/// </summary>
public static class RowSchemas
{
    /// <summary>The enum list the template marks for the field's options.</summary>
    public const string OptionsPlaceholder = "$ENUM_OPTIONS";

    public static JsonObject ForField(JsonObject template, FieldDefinition field)
    {
        var definition = field.Type switch
        {
            FieldType.Enum when field.IsMulti => "enum_multi",
            var type => FieldDefinition.WireName(type),
        };
        var schema = template.DeepClone().AsObject();
        var value = schema["definitions"]![definition]!.DeepClone();
        FillOptions(value, field.EnumOptions);
        schema.Remove("$id");
        schema.Remove("$comment");
        schema.Remove("definitions");
        schema["title"] = $"Upload row of field '{field.Name}' ({definition})";
        schema["properties"]!["value"] = value;
        return schema;
    }

    private static void FillOptions(JsonNode? node, IReadOnlyList<string> options)
    {
        if (node is not JsonObject obj)
        {
            return;
        }
        if (obj["enum"] is JsonArray { Count: 1 } list && list[0] is JsonValue marker
            && marker.TryGetValue<string>(out var text) && text == OptionsPlaceholder)
        {
            obj["enum"] = new JsonArray(options.Select(o => (JsonNode?)JsonValue.Create(o)).ToArray());
        }
        foreach (var (_, child) in obj.ToList())
        {
            FillOptions(child, options);
        }
    }
}
