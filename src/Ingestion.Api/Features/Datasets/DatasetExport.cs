using System.Data;
using System.Text.Json;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Features.Query;
using Ingestion.Api.Infrastructure.Auth;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Ingestion.Api.Features.Datasets;

/// <summary>
/// Streams a dataset as Visual Layer's JSON export: info first, then every media item with its custom
/// metadata. Rows go from the database reader straight to the response; memory does not grow with the dataset.
/// </summary>
public static class DatasetExport
{
    /// <summary>Renders a stored value as JSON, per its field's type, in SQL so each item's metadata arrives as one JSON text.</summary>
    public const string ValueJsonSql = """
        CASE
            WHEN f.field_type = 'float' THEN to_jsonb(v.value_float)
            -- to_char gives NULL for these; only a value stored before validation kept microseconds can be one.
            WHEN f.field_type = 'datetime' AND NOT isfinite(v.value_datetime) THEN to_jsonb(v.value_datetime::text)
            WHEN f.field_type = 'datetime' THEN to_jsonb(to_char(v.value_datetime AT TIME ZONE 'UTC',
                CASE WHEN date_trunc('second', v.value_datetime) = v.value_datetime
                     THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END))
            -- A selection is stored as option numbers (migration 0018); the field's options name them, in order.
            WHEN f.field_type = 'enum' AND f.is_multi THEN
                (SELECT jsonb_agg(f.enum_options[u.n] ORDER BY u.i) FROM unnest(v.value_enums) WITH ORDINALITY u(n, i))
            ELSE to_jsonb(v.value_text)
        END
        """;

    /// <summary>The custom metadata of media item <c>m</c> as Visual Layer's metadata_items array (NULL when it has none).</summary>
    public static string MetadataItemsSql(IEnumerable<FieldDefinition> fields) => $"""
        SELECT jsonb_agg(jsonb_build_object(
                   'type', 'custom_metadata',
                   'properties', jsonb_build_object('field_name', f.field_name, 'field_type', f.field_type, 'value', {ValueJsonSql}))
               ORDER BY f.field_name)
        FROM ({FieldValueTables.ItemValuesSql(fields)}) v JOIN fields f ON f.field_id = v.field_id
        """;

    /// <summary>Exports the whole dataset, or with <c>q</c> (the search query language) only the matching items.</summary>
    public static async Task<IResult> ExportAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromQuery(Name = "q")] string? q, HttpContext http, NpgsqlDataSource db,
        CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var dataset = await MediaFilter.LoadDatasetAsync(conn, http.User.WorkspaceId(), datasetId, ct);
        if (dataset is null)
        {
            return DatasetsApi.NotFound(datasetId);
        }
        if (!MediaFilter.TryPlan(q, null, dataset, out var plan, out var problem))
        {
            return problem!;
        }
        var parameters = new List<NpgsqlParameter>();
        var where = MediaFilter.Where(http.User.WorkspaceId(), datasetId, plan, parameters);
        long total;
        await using (var count = MediaFilter.CountCommand(conn, where, parameters))
        {
            total = (long)(await count.ExecuteScalarAsync(ct))!;
        }

        http.Response.ContentType = "application/json";
        // Over the response stream, not its PipeWriter: flushing a writer over a PipeWriter only advances the pipe,
        // so nothing would reach the client until the end and the whole export would sit in memory.
        await using var json = new Utf8JsonWriter(http.Response.Body);
        json.WriteStartObject();
        json.WriteStartObject("info");
        json.WriteString("dataset_id", datasetId);
        json.WriteString("dataset_name", dataset.Name);
        json.WriteString("export_time", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"));
        json.WriteString("schema_version", "1.0");
        json.WriteNumber("total_media_items", total);
        json.WriteEndObject();
        json.WriteStartArray("media_items");

        await using var cmd = new NpgsqlCommand($"""
            SELECT m.media_id, m.media_type, m.file_name, m.file_path, ({MetadataItemsSql(dataset.Fields)})::text
            FROM media_items m
            WHERE {where}
            ORDER BY m.media_id
            """, conn);
        cmd.Parameters.AddRange(parameters.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
        var n = 0;
        while (await reader.ReadAsync(ct))
        {
            json.WriteStartObject();
            json.WriteString("media_id", reader.GetGuid(0));
            json.WriteString("media_type", reader.GetString(1));
            json.WriteString("file_name", reader.GetString(2));
            if (reader.IsDBNull(3)) json.WriteNull("file_path"); else json.WriteString("file_path", reader.GetString(3));
            json.WritePropertyName("metadata_items");
            if (reader.IsDBNull(4)) { json.WriteStartArray(); json.WriteEndArray(); }
            else json.WriteRawValue(reader.GetString(4), skipInputValidation: true);
            json.WriteEndObject();
            if (++n % 1000 == 0)
            {
                await json.FlushAsync(ct);
            }
        }
        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(ct);
        return Results.Empty;
    }
}
