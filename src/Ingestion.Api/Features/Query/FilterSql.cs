using System.Text;
using Ingestion.Api.Features.Fields;
using Npgsql;
using NpgsqlTypes;

namespace Ingestion.Api.Features.Query;

/// <summary>
/// Turns a <see cref="FilterPlan"/> into a SQL condition on <c>media_items m</c>. The SQL text is built only from
/// fixed fragments chosen by operator and type; field ids and values are always bound parameters.
/// <para>
/// Each predicate is an <c>EXISTS</c> over <c>field_values</c> keyed by <c>(field_id, media_id)</c>, and NOT is
/// <c>NOT EXISTS</c>. This is what makes the missing-value rule hold without NULL logic: an item with no value
/// for the field has no row, so the predicate is false and its negation true. At the top level of an AND,
/// PostgreSQL turns these into semi-joins and anti-joins and may drive the query from the typed index of the
/// most selective predicate; under OR they become (hashed) subplans. docs/query-design.md explains the plans.
/// </para>
/// </summary>
public static class FilterSql
{
    /// <summary>
    /// Appends the condition for <paramref name="plan"/>, adding its parameters after those already in the list.
    /// With <paramref name="perItem"/>, every EXISTS stays a correlated subplan (OFFSET 0 keeps the planner from
    /// turning it into a join): each item is then checked by key probes as the page walks media_id order, which
    /// stops after the page's last match. That wins when matches are dense; without it the planner joins whole
    /// predicates first, which wins when they are sparse. <see cref="MediaFilter"/> chooses between the two.
    /// </summary>
    public static void Append(FilterPlan plan, StringBuilder sql, List<NpgsqlParameter> parameters, bool perItem = false)
    {
        switch (plan)
        {
            case AndPlan a:
                Join(a.Operands, " AND ", sql, parameters, perItem);
                break;
            case OrPlan o:
                Or(o.Operands, sql, parameters, perItem);
                break;
            case NotPlan { Operand: PredicatePlan p }:
                Predicate(p, negate: true, sql, parameters, perItem);
                break;
            case NotPlan n:
                sql.Append("NOT (");
                Append(n.Operand, sql, parameters, perItem);
                sql.Append(')');
                break;
            case PredicatePlan p:
                Predicate(p, negate: false, sql, parameters, perItem);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(plan));
        }
    }

    private static void Join(IReadOnlyList<FilterPlan> operands, string op, StringBuilder sql, List<NpgsqlParameter> parameters, bool perItem)
    {
        sql.Append('(');
        for (var i = 0; i < operands.Count; i++)
        {
            if (i > 0)
            {
                sql.Append(op);
            }
            Append(operands[i], sql, parameters, perItem);
        }
        sql.Append(')');
    }

    /// <summary>
    /// An OR's plain predicates (not MISSING) go into ONE EXISTS whose rows may come from any of their fields:
    /// EXISTS(A) OR EXISTS(B) is EXISTS(A ∪ B) over the same table. An OR of EXISTS cannot become a join and
    /// runs as hashed subplans that compute every branch in full before the first row; a single EXISTS can
    /// be pulled up into a semi-join, which the planner can drive from the indexes (few matches) or walk in
    /// media_id order and stop at the page (many matches). The other operands stay as they are.
    /// </summary>
    private static void Or(IReadOnlyList<FilterPlan> operands, StringBuilder sql, List<NpgsqlParameter> parameters, bool perItem)
    {
        var merged = operands.OfType<PredicatePlan>().Where(p => p.Op != FilterOp.Missing).ToList();
        if (merged.Count < 2)
        {
            Join(operands, " OR ", sql, parameters, perItem);
            return;
        }
        sql.Append("(EXISTS (SELECT 1 FROM field_values v WHERE v.media_id = m.media_id AND (");
        for (var i = 0; i < merged.Count; i++)
        {
            sql.Append(i > 0 ? " OR (" : "(");
            FieldCondition(merged[i], sql, parameters);
            sql.Append(')');
        }
        sql.Append(perItem ? ") OFFSET 0)" : "))");
        foreach (var rest in operands.Except(merged))
        {
            sql.Append(" OR ");
            Append(rest, sql, parameters, perItem);
        }
        sql.Append(')');
    }

    private static void Predicate(PredicatePlan p, bool negate, StringBuilder sql, List<NpgsqlParameter> parameters, bool perItem)
    {
        // MISSING is NOT EXISTS of the value row, so NOT MISSING is EXISTS.
        negate ^= p.Op == FilterOp.Missing;
        sql.Append(negate ? "NOT EXISTS (" : "EXISTS (").Append("SELECT 1 FROM field_values v WHERE v.media_id = m.media_id AND ");
        FieldCondition(p, sql, parameters);
        sql.Append(perItem ? " OFFSET 0)" : ")");
    }

    /// <summary>The row of <paramref name="p"/>'s field, with a value satisfying it (any value for EXISTS and MISSING).</summary>
    private static void FieldCondition(PredicatePlan p, StringBuilder sql, List<NpgsqlParameter> parameters)
    {
        sql.Append("v.field_id = ").Append(Bind(parameters, p.Field.FieldId, NpgsqlDbType.Uuid));
        if (p.Op is not (FilterOp.Exists or FilterOp.Missing))
        {
            sql.Append(" AND ");
            Condition(p, sql, parameters);
        }
    }

    private static void Condition(PredicatePlan p, StringBuilder sql, List<NpgsqlParameter> parameters)
    {
        var (column, type) = p.Field.Type switch
        {
            FieldType.Float => ("v.value_float", NpgsqlDbType.Double),
            FieldType.Datetime => ("v.value_datetime", NpgsqlDbType.TimestampTz),
            FieldType.Enum when p.Field.IsMulti => ("v.value_enums", NpgsqlDbType.Array | NpgsqlDbType.Smallint),
            _ => ("v.value_text", NpgsqlDbType.Text),
        };
        string One() => Bind(parameters, p.Values[0], type);
        // A multi-select stores option numbers (migration 0018); the planner has checked every name is an option, and
        // 0, which numbers none, keeps a name that is not one matching nothing.
        string List() => p.Field.Type == FieldType.Enum && p.Field.IsMulti
            ? Bind(parameters, p.Values.Select(v => p.Field.OptionNumbers.GetValueOrDefault((string)v)).ToArray(), type)
            : Bind(parameters, p.Values.Cast<string>().ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text);
        switch (p.Op)
        {
            case FilterOp.Eq when p.Field.IsMulti:
                // The same set: each contains the other (stored selections hold each option once).
                var set = List();
                sql.Append(column).Append(" @> ").Append(set).Append(" AND ").Append(column).Append(" <@ ").Append(set);
                break;
            case FilterOp.Eq or FilterOp.Ne or FilterOp.Lt or FilterOp.Le or FilterOp.Gt or FilterOp.Ge:
                sql.Append(column).Append(' ').Append(p.Op switch
                {
                    FilterOp.Eq => "=",
                    FilterOp.Ne => "<>",
                    FilterOp.Lt => "<",
                    FilterOp.Le => "<=",
                    FilterOp.Gt => ">",
                    _ => ">=",
                }).Append(' ').Append(One());
                break;
            case FilterOp.Between:
                sql.Append(column).Append(" BETWEEN ").Append(One()).Append(" AND ").Append(Bind(parameters, p.Values[1], type));
                break;
            case FilterOp.In:
                sql.Append(column).Append(" = ANY(").Append(List()).Append(')');
                break;
            case FilterOp.Contains:
                // ILIKE with an escaped pattern: the trigram index serves it; the text stays a parameter.
                sql.Append(column).Append(" ILIKE ").Append(Bind(parameters, $"%{EscapeLike((string)p.Values[0])}%", NpgsqlDbType.Text));
                break;
            case FilterOp.StartsWith:
                // LIKE 'prefix%' becomes a range scan on the text_pattern_ops index.
                sql.Append(column).Append(" LIKE ").Append(Bind(parameters, $"{EscapeLike((string)p.Values[0])}%", NpgsqlDbType.Text));
                break;
            case FilterOp.HasAny:
                sql.Append(column).Append(" && ").Append(List());
                break;
            case FilterOp.HasAll:
                sql.Append(column).Append(" @> ").Append(List());
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(p));
        }
    }

    /// <summary>Makes a user's text match literally inside a LIKE pattern (backslash is LIKE's default escape).</summary>
    private static string EscapeLike(string s) => s.Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_");

    private static string Bind(List<NpgsqlParameter> parameters, object value, NpgsqlDbType type)
    {
        parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
        return $"${parameters.Count}";
    }
}
