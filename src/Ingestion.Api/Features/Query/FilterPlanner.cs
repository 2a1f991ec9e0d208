using System.Globalization;
using System.Text.RegularExpressions;
using Ingestion.Api.Features.Fields;

namespace Ingestion.Api.Features.Query;

/// <summary>A filter checked against the declared schema: every field resolved, every literal in its field's type.</summary>
public abstract record FilterPlan;

public sealed record AndPlan(IReadOnlyList<FilterPlan> Operands) : FilterPlan
{
    public override string ToString() => $"(AND {string.Join(' ', Operands)})";
}

public sealed record OrPlan(IReadOnlyList<FilterPlan> Operands) : FilterPlan
{
    public override string ToString() => $"(OR {string.Join(' ', Operands)})";
}

public sealed record NotPlan(FilterPlan Operand) : FilterPlan
{
    public override string ToString() => $"(NOT {Operand})";
}

/// <summary>
/// One predicate, with its operands already typed: <see cref="string"/> for string, link and enum fields,
/// <see cref="double"/> for float, <see cref="DateTime"/> (UTC) for datetime.
/// </summary>
public sealed record PredicatePlan(FieldDefinition Field, FilterOp Op, IReadOnlyList<object> Values) : FilterPlan
{
    /// <summary>A canonical form: two filters that mean the same thing to the database print the same.</summary>
    public override string ToString() =>
        $"({Field.FieldId}:{Field.Name} {FilterOps.Text(Op)} [{string.Join(", ", Values.Select(Canonical))}])";

    private static string Canonical(object v) => v switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("O", CultureInfo.InvariantCulture),
        _ => $"\"{v}\"",
    };
}

/// <summary>
/// Checks a parsed filter against the dataset's declared fields before anything runs, and turns it into a
/// <see cref="FilterPlan"/>. Every refusal names the place (offset or JSON path) and what would be valid.
/// </summary>
public static partial class FilterPlanner
{
    private static readonly FilterOp[] StringOps = [FilterOp.Eq, FilterOp.Ne, FilterOp.Contains, FilterOp.StartsWith, FilterOp.In, FilterOp.Exists, FilterOp.Missing];
    private static readonly FilterOp[] OrderedOps = [FilterOp.Eq, FilterOp.Ne, FilterOp.Lt, FilterOp.Le, FilterOp.Gt, FilterOp.Ge, FilterOp.Between, FilterOp.Exists, FilterOp.Missing];
    private static readonly FilterOp[] EnumOps = [FilterOp.Eq, FilterOp.Ne, FilterOp.In, FilterOp.Exists, FilterOp.Missing];
    private static readonly FilterOp[] MultiEnumOps = [FilterOp.HasAny, FilterOp.HasAll, FilterOp.Eq, FilterOp.Exists, FilterOp.Missing];

    public static FilterPlan Plan(FilterSyntax syntax, IReadOnlyList<FieldDefinition> fields) => syntax switch
    {
        AndSyntax a => Flatten(a.Operands.Select(o => Plan(o, fields)), isAnd: true),
        OrSyntax o => Flatten(o.Operands.Select(x => Plan(x, fields)), isAnd: false),
        NotSyntax n => new NotPlan(Plan(n.Operand, fields)),
        PredicateSyntax p => Predicate(p, fields),
        _ => throw new ArgumentOutOfRangeException(nameof(syntax)),
    };

    /// <summary>AND inside AND (and OR inside OR) is one level: <c>a AND (b AND c)</c> plans as <c>a AND b AND c</c>.</summary>
    private static FilterPlan Flatten(IEnumerable<FilterPlan> operands, bool isAnd)
    {
        var flat = new List<FilterPlan>();
        foreach (var o in operands)
        {
            switch (o)
            {
                case AndPlan a when isAnd:
                    flat.AddRange(a.Operands);
                    break;
                case OrPlan x when !isAnd:
                    flat.AddRange(x.Operands);
                    break;
                default:
                    flat.Add(o);
                    break;
            }
        }
        return flat.Count == 1 ? flat[0] : isAnd ? new AndPlan(flat) : new OrPlan(flat);
    }

    private static PredicatePlan Predicate(PredicateSyntax p, IReadOnlyList<FieldDefinition> fields)
    {
        var field = fields.FirstOrDefault(f => f.Name.Equals(p.Field, StringComparison.OrdinalIgnoreCase))
            ?? throw new FilterException(UnknownField(p.Field, fields), p.Where);
        var allowed = AllowedOps(field);
        var kind = Describe(field);
        if (!allowed.Contains(p.Op))
        {
            throw new FilterException(
                $"Operator {FilterOps.Text(p.Op)} does not apply to {kind} field '{field.Name}'. Use one of {FilterOps.Names(allowed)}.", p.OpWhere);
        }
        var wantsList = p.Op is FilterOp.In or FilterOp.HasAny or FilterOp.HasAll || (p.Op == FilterOp.Eq && field.IsMulti);
        if (wantsList != p.IsList)
        {
            throw new FilterException(wantsList
                ? $"{FilterOps.Text(p.Op)} on {kind} field '{field.Name}' takes a list of options in parentheses, as in {field.Name} {FilterOps.Text(p.Op)} (\"a\", \"b\")."
                : $"{FilterOps.Text(p.Op)} on {kind} field '{field.Name}' takes one value, not a list. To match any of several values use {(field.Type == FieldType.Float || field.Type == FieldType.Datetime ? "OR" : "IN")}.",
                p.OpWhere);
        }
        return new PredicatePlan(field, p.Op, p.Values.Select(v => Value(field, kind, v)).ToList());
    }

    private static FilterOp[] AllowedOps(FieldDefinition field) => field.Type switch
    {
        FieldType.String or FieldType.Link => StringOps,
        FieldType.Float or FieldType.Datetime => OrderedOps,
        FieldType.Enum when field.IsMulti => MultiEnumOps,
        FieldType.Enum => EnumOps,
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    private static string Describe(FieldDefinition field) =>
        field.Type == FieldType.Enum && field.IsMulti ? "multi-enum" : FieldDefinition.WireName(field.Type);

    private static string UnknownField(string name, IReadOnlyList<FieldDefinition> fields)
    {
        if (fields.Count == 0)
        {
            return $"Field '{name}' is not declared; this dataset declares no fields yet. Declare one with POST /api/v1/datasets/{{dataset_id}}/custom_metadata/tasks.";
        }
        var near = Spelling.Closest(name, fields.Select(f => f.Name));
        var known = string.Join(", ", fields.Select(f => f.Name).Order(StringComparer.OrdinalIgnoreCase).Take(20));
        return near is not null
            ? $"Field '{name}' is not declared; did you mean '{near}'? Declared fields: {known}."
            : $"Field '{name}' is not declared. Declared fields: {known}.";
    }

    private static object Value(FieldDefinition field, string kind, Literal literal)
    {
        switch (field.Type)
        {
            case FieldType.Float:
                if (literal.Kind != LiteralKind.Number)
                {
                    throw new FilterException($"Float field '{field.Name}' compares with numbers, but \"{literal.Text}\" is a string. Write the number without quotes, e.g. 20 or -1.5.", literal.Where);
                }
                var d = double.Parse(literal.Text, NumberStyles.Float, CultureInfo.InvariantCulture);
                return double.IsFinite(d) ? d
                    : throw new FilterException($"The number {literal.Text} is too large for a float. Use a finite number.", literal.Where);
            case FieldType.Datetime:
                if (literal.Kind != LiteralKind.String || !Rfc3339().IsMatch(literal.Text)
                    || !DateTimeOffset.TryParse(literal.Text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant))
                {
                    throw new FilterException(
                        $"Datetime field '{field.Name}' compares with quoted RFC 3339 datetimes with an offset, such as \"2024-01-01T00:00:00Z\" or \"2024-01-01T02:00:00+02:00\"; got {Shown(literal)}.", literal.Where);
                }
                return instant.UtcDateTime;
            default:
                if (literal.Kind != LiteralKind.String)
                {
                    throw new FilterException($"{char.ToUpperInvariant(kind[0])}{kind[1..]} field '{field.Name}' compares with strings; put {literal.Text} in double quotes: \"{literal.Text}\".", literal.Where);
                }
                if (field.Type == FieldType.Enum && !field.OptionSet.Contains(literal.Text))
                {
                    var near = Spelling.Closest(literal.Text, field.EnumOptions);
                    throw new FilterException(
                        $"\"{literal.Text}\" is not an option of enum field '{field.Name}'{(near is null ? "." : $"; did you mean \"{near}\"?")} Options: {string.Join(", ", field.EnumOptions.Take(30).Select(o => $"\"{o}\""))}{(field.EnumOptions.Count > 30 ? ", …" : "")}.",
                        literal.Where);
                }
                return literal.Text;
        }
    }

    private static string Shown(Literal literal) => literal.Kind == LiteralKind.String ? $"\"{literal.Text}\"" : literal.Text;

    /// <summary>RFC 3339 date-time: the offset is required (an instant without one is ambiguous); at most microseconds, as stored.</summary>
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();
}
