namespace Ingestion.Api.Features.Fields;

/// <summary>The rules a field declaration must meet. Every problem is reported at once, keyed by the property at fault.</summary>
public static class FieldDeclaration
{
    public static Dictionary<string, string[]> Check(DeclareFieldRequest request)
    {
        var problems = new Dictionary<string, List<string>>();
        void Add(string key, string message)
        {
            if (!problems.TryGetValue(key, out var list))
            {
                problems[key] = list = [];
            }
            list.Add(message);
        }

        var name = request.FieldName;
        if (string.IsNullOrEmpty(name))
        {
            Add("field_name", "field_name is required.");
        }
        else
        {
            if (name.Length > FieldDefinition.MaxNameLength)
            {
                Add("field_name", $"field_name has {name.Length} characters; at most {FieldDefinition.MaxNameLength} are allowed.");
            }
            if (!FieldDefinition.NamePattern().IsMatch(name))
            {
                Add("field_name", $"field_name '{ValueTruncated(name)}' may hold only letters, digits, '_' and '.', and may not start with '.'.");
            }
        }

        var type = FieldDefinition.ParseType(request.FieldType);
        if (type is null)
        {
            Add("field_type", request.FieldType is null
                ? "field_type is required: one of string, float, datetime, enum, link."
                : $"field_type '{ValueTruncated(request.FieldType)}' is not one of string, float, datetime, enum, link.");
        }

        if (type == FieldType.Enum)
        {
            var options = request.EnumOptions;
            if (options is null || options.Count == 0)
            {
                Add("enum_options", "An enum field needs enum_options: at least one option.");
            }
            else
            {
                if (options.Count > FieldDefinition.MaxEnumOptions)
                {
                    Add("enum_options", $"enum_options has {options.Count} options; at most {FieldDefinition.MaxEnumOptions} are allowed.");
                }
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < options.Count; i++)
                {
                    var o = options[i];
                    if (string.IsNullOrEmpty(o) || o.Length > FieldDefinition.MaxEnumOptionLength)
                    {
                        Add($"enum_options[{i}]", $"Option {i} ('{ValueTruncated(o ?? "")}') must be 1 to {FieldDefinition.MaxEnumOptionLength} characters.");
                    }
                    else if (o.Contains('\0'))
                    {
                        Add($"enum_options[{i}]", $"Option {i} contains a NUL character.");
                    }
                    else if (!seen.Add(o))
                    {
                        Add($"enum_options[{i}]", $"Option '{o}' is listed more than once; options must be unique.");
                    }
                }
            }
        }
        else if (type is not null)
        {
            if (request.EnumOptions is { Count: > 0 })
            {
                Add("enum_options", $"enum_options only apply to enum fields, not to {request.FieldType}.");
            }
            if (request.IsMulti == true)
            {
                Add("is_multi", $"is_multi only applies to enum fields, not to {request.FieldType}.");
            }
        }
        return problems.ToDictionary(p => p.Key, p => p.Value.ToArray());
    }

    private static string ValueTruncated(string s) => s.Length <= 80 ? s : s[..79] + "…";
}
