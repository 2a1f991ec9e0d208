using System.Text;
using System.Text.Json;
using Ingestion.Api.Features.Datasets;
using Ingestion.Api.Features.Fields;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using NpgsqlTypes;

namespace Ingestion.Api.Features.Query;

/// <summary>A dataset of the caller's workspace with the fields a filter may name.</summary>
public sealed record QueryableDataset(string Name, IReadOnlyList<FieldDefinition> Fields);

/// <summary>What search and export share: load the schema, check the filter against it, and render the WHERE clause.</summary>
public static class MediaFilter
{
    /// <summary>The dataset and its declared fields, or null when the caller's workspace has no such dataset.</summary>
    public static async Task<QueryableDataset?> LoadDatasetAsync(NpgsqlConnection conn, Guid workspaceId, Guid datasetId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT d.name, f.field_id, f.field_name, f.field_type, f.is_multi, coalesce(f.enum_options, '{}'), f.values_indexed
            FROM datasets d LEFT JOIN fields f ON f.dataset_id = d.dataset_id AND f.workspace_id = d.workspace_id
            WHERE d.workspace_id = $1 AND d.dataset_id = $2
            """, conn) { Parameters = { new() { Value = workspaceId }, new() { Value = datasetId } } };
        await using var r = await cmd.ExecuteReaderAsync(ct);
        string? name = null;
        var fields = new List<FieldDefinition>();
        while (await r.ReadAsync(ct))
        {
            name = r.GetString(0);
            if (!r.IsDBNull(1))
            {
                fields.Add(new FieldDefinition
                {
                    FieldId = r.GetGuid(1),
                    DatasetId = datasetId,
                    Name = r.GetString(2),
                    Type = FieldDefinition.ParseType(r.GetString(3))!.Value,
                    IsMulti = r.GetBoolean(4),
                    EnumOptions = r.GetFieldValue<string[]>(5),
                    ValuesIndexed = r.GetBoolean(6),
                });
            }
        }
        return name is null ? null : new QueryableDataset(name, fields);
    }

    /// <summary>
    /// Parses and checks the filter, given as query text or as a JSON tree (at most one of them). No filter at
    /// all, or blank query text, is a null plan: every item matches. A filter that does not fit the schema is a 400 that points at the spot.
    /// </summary>
    public static bool TryPlan(string? query, JsonElement? filter, QueryableDataset dataset, out FilterPlan? plan, out ProblemHttpResult? problem)
    {
        plan = null;
        problem = null;
        var hasFilter = filter is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };
        if (!string.IsNullOrWhiteSpace(query) && hasFilter)
        {
            problem = TypedResults.Problem(statusCode: 400, title: "The query is invalid",
                detail: "The request has both \"query\" and \"filter\". Send the filter one way: as query text, or as a JSON tree.");
            return false;
        }
        try
        {
            // A blank query (an empty search box) filters nothing, like no query at all.
            var syntax = hasFilter ? FilterJsonParser.Parse(filter!.Value)
                : string.IsNullOrWhiteSpace(query) ? null
                : QueryTextParser.Parse(query);
            plan = syntax is null ? null : FilterPlanner.Plan(syntax, dataset.Fields);
            return true;
        }
        catch (FilterException e)
        {
            problem = e.Where.JsonPath is { } path
                ? TypedResults.Problem(statusCode: 400, title: "The filter is invalid", detail: $"At {path}: {e.Message}",
                    extensions: new Dictionary<string, object?> { ["json_path"] = path })
                : TextProblem(query!, e);
            return false;
        }
    }

    /// <summary>Offset (0-based) plus line and column (1-based), and the query line with a caret under the spot.</summary>
    private static ProblemHttpResult TextProblem(string query, FilterException e)
    {
        var offset = Math.Clamp(e.Where.Offset, 0, query.Length);
        var lineStart = offset == 0 ? 0 : query.LastIndexOf('\n', offset - 1) + 1;
        var line = query.AsSpan(0, lineStart).Count('\n') + 1;
        var column = offset - lineStart + 1;
        var lineEnd = query.IndexOf('\n', lineStart);
        var text = query[lineStart..(lineEnd < 0 ? query.Length : lineEnd)];
        return TypedResults.Problem(statusCode: 400, title: "The query is invalid",
            detail: $"At offset {offset} (line {line}, column {column}): {e.Message}",
            extensions: new Dictionary<string, object?>
            {
                ["position"] = offset,
                ["line"] = line,
                ["column"] = column,
                ["pointer"] = $"{text}\n{new string(' ', column - 1)}^",
            });
    }

    /// <summary>
    /// The WHERE condition selecting the dataset's matching items as <c>media_items m</c>: workspace and dataset
    /// first (parameters $1 and $2, added here), then the filter. Callers add their own parameters after these.
    /// </summary>
    public static string Where(Guid workspaceId, Guid datasetId, FilterPlan? plan, List<NpgsqlParameter> parameters, bool perItem = false)
    {
        parameters.Add(new NpgsqlParameter { Value = workspaceId });
        parameters.Add(new NpgsqlParameter { Value = datasetId });
        var sql = new StringBuilder("m.workspace_id = $1 AND m.dataset_id = $2");
        if (plan is not null)
        {
            sql.Append(" AND ");
            FilterSql.Append(plan, sql, parameters, perItem);
        }
        return sql.ToString();
    }

    /// <summary>Items checked ahead of the cursor to judge how dense the matches of an AND are.</summary>
    public const int DensitySampleItems = 2_000;

    /// <summary>Walk a page item by item only if the sample predicts it fills within this many items.</summary>
    public const int WalkBudgetItems = 50_000;

    /// <summary>
    /// Whether the next page of an AND is cheaper walked item by item in media_id order (see
    /// <see cref="FilterSql.Append"/>) than planned as joins. An AND of individually broad predicates with a
    /// sparse-ish intersection is the case the planner gets wrong: it joins every predicate in full (hundreds of
    /// milliseconds on a million items) although walking stops after the page's last match. Which wins depends
    /// on how dense the matches are, which no single predicate's statistics tell, so a few thousand items past
    /// the cursor are checked the per-item way (a few milliseconds) and the page walks only if at that density
    /// it fills within <see cref="WalkBudgetItems"/>. Anything but an AND keeps the joins, which already do well.
    /// </summary>
    public static async Task<bool> PageWalksAsync(NpgsqlConnection conn, Guid workspaceId, Guid datasetId, FilterPlan? plan,
        Guid? after, int rows, CancellationToken ct)
    {
        if (plan is not AndPlan)
        {
            return false;
        }
        var parameters = new List<NpgsqlParameter>();
        var where = Where(workspaceId, datasetId, plan, parameters, perItem: true);
        var afterClause = "";
        if (after is not null)
        {
            parameters.Add(new NpgsqlParameter { Value = after.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
            afterClause = $"AND m.media_id > ${parameters.Count}";
        }
        await using var cmd = new NpgsqlCommand($"""
            SELECT count(*), (SELECT count(*) FROM (SELECT 1 FROM media_items m WHERE m.workspace_id = $1 AND m.dataset_id = $2 {afterClause}
                                                    ORDER BY m.media_id LIMIT {DensitySampleItems}) n)
            FROM (SELECT m.* FROM media_items m
                  WHERE m.workspace_id = $1 AND m.dataset_id = $2 {afterClause}
                  ORDER BY m.media_id LIMIT {DensitySampleItems}) m
            WHERE {where}
            """, conn);
        cmd.Parameters.AddRange(parameters.ToArray());
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        long matches = r.GetInt64(0), sampled = r.GetInt64(1);
        // Fewer items left than the sample: the walk ends at the end of the dataset, so it is cheap either way.
        return sampled < DensitySampleItems || (matches > 0 && (double)rows * sampled / matches <= WalkBudgetItems);
    }

    /// <summary>How many items match. The parameters are copied: the same list goes on to the page command.</summary>
    public static NpgsqlCommand CountCommand(NpgsqlConnection conn, string where, List<NpgsqlParameter> parameters)
    {
        var cmd = new NpgsqlCommand($"SELECT count(*) FROM media_items m WHERE {where}", conn);
        cmd.Parameters.AddRange(parameters.Select(p => p.Clone()).ToArray());
        return cmd;
    }

    /// <summary>
    /// Up to <paramref name="rows"/> matching items after <paramref name="after"/> in media_id order (keyset, never
    /// OFFSET). Columns: media_id, media_type, file_name, file_path, metadata_items as JSON text (or NULL).
    /// </summary>
    public static NpgsqlCommand PageCommand(NpgsqlConnection conn, string where, List<NpgsqlParameter> parameters, Guid? after, int rows,
        QueryableDataset? includeMetadataOf)
    {
        var page = new StringBuilder(where);
        if (after is not null)
        {
            parameters.Add(new NpgsqlParameter { Value = after.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
            page.Append($" AND m.media_id > ${parameters.Count}");
        }
        parameters.Add(new NpgsqlParameter { Value = rows, NpgsqlDbType = NpgsqlDbType.Integer });
        // The page is chosen in the inner query; metadata is gathered in the outer one, so only for the rows returned.
        var cmd = new NpgsqlCommand($"""
            SELECT m.media_id, m.media_type, m.file_name, m.file_path,
                   {(includeMetadataOf is not null ? $"coalesce(({DatasetExport.MetadataItemsSql(includeMetadataOf.Fields)})::text, '[]')" : "NULL")}
            FROM (
                SELECT m.media_id, m.media_type, m.file_name, m.file_path
                FROM media_items m
                WHERE {page}
                ORDER BY m.media_id
                LIMIT ${parameters.Count}
            ) m
            ORDER BY m.media_id
            """, conn);
        cmd.Parameters.AddRange(parameters.ToArray());
        return cmd;
    }
}
