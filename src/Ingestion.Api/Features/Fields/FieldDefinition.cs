using Ingestion.Api.Features.Validation;

namespace Ingestion.Api.Features.Fields;

public enum FieldType { String, Float, Datetime, Enum, Link }

/// <summary>A declared field as the validator and the query planner need it.</summary>
/// <remarks>The declaration rules (name pattern, option counts and lengths) live in schemas/field-declaration.schema.json.</remarks>
public sealed class FieldDefinition
{
    public required Guid FieldId { get; init; }
    public required Guid DatasetId { get; init; }
    public required string Name { get; init; }
    public required FieldType Type { get; init; }
    public required bool IsMulti { get; init; }
    public IReadOnlyList<string> EnumOptions { get; init; } = [];

    /// <summary>The field's values table is indexed and attached (fields.values_indexed): its values are readable.</summary>
    public bool ValuesIndexed { get; init; }

    /// <summary>The one typed column of field_values this field's values fill (ValueValidator sets exactly that one).</summary>
    public string ValueColumn => Type switch
    {
        FieldType.Float => "value_float",
        FieldType.Datetime => "value_datetime",
        FieldType.Enum when IsMulti => "value_enums",
        _ => "value_text",
    };

    private HashSet<string>? _options;

    /// <summary>Options as a set, with lookups by span so validating a row needs no string of its own.</summary>
    public HashSet<string> OptionSet => _options ??= new HashSet<string>(EnumOptions, StringComparer.Ordinal);

    private Dictionary<string, short>? _optionNumbers;

    /// <summary>
    /// Each option's number, its position in <see cref="EnumOptions"/> from 1: what a multi-select value stores for it
    /// (migration 0018). Options never change once declared, so neither do their numbers.
    /// </summary>
    public Dictionary<string, short> OptionNumbers => _optionNumbers ??= NumberOptions(EnumOptions);

    // The first of two equal options keeps its number, as array_position finds it in SQL (the declaration schema
    // refuses repeats; this only keeps a field declared otherwise readable).
    private static Dictionary<string, short> NumberOptions(IReadOnlyList<string> options)
    {
        var numbers = new Dictionary<string, short>(options.Count, StringComparer.Ordinal);
        for (var i = 0; i < options.Count; i++)
        {
            numbers.TryAdd(options[i], checked((short)(i + 1)));
        }
        return numbers;
    }

    private OptionTexts? _optionTexts;

    /// <summary>An enum field's options by their UTF-8 bytes, for the parser (null for other types).</summary>
    public OptionTexts? OptionTexts => Type == FieldType.Enum ? _optionTexts ??= new OptionTexts(EnumOptions) : null;

    /// <summary>The names of a multi-select value's option numbers, in its order.</summary>
    public string[] OptionNames(short[] numbers) => Array.ConvertAll(numbers, n => EnumOptions[n - 1]);

    public static string WireName(FieldType type) => type switch
    {
        FieldType.String => "string",
        FieldType.Float => "float",
        FieldType.Datetime => "datetime",
        FieldType.Enum => "enum",
        FieldType.Link => "link",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static FieldType? ParseType(string? wire) => wire switch
    {
        "string" => FieldType.String,
        "float" => FieldType.Float,
        "datetime" => FieldType.Datetime,
        "enum" => FieldType.Enum,
        "link" => FieldType.Link,
        _ => null,
    };
}
