using Ingestion.Api.Features.Datasets;
using Ingestion.Api.Features.Query;
using Ingestion.Api.Features.Schemas;
using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Infrastructure.Auth;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Api.Infrastructure.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Ingestion.Api.Features.Fields;

public sealed record DeclareFieldRequest(string? FieldName, string? FieldType, List<string>? EnumOptions, bool? IsMulti);

public sealed record DeclareFieldResponse(Guid TaskId, string Status, Guid DatasetId, string FieldName, string FieldType,
    IReadOnlyList<string>? EnumOptions, bool IsMulti, DateTime CreatedAt);

public sealed record FieldSchema(string FieldName, string FieldType, IReadOnlyList<string>? EnumOptions, bool IsMulti,
    DateTime CreatedAt, Guid TaskId);

public sealed record DatasetSchemaResponse(Guid DatasetId, IReadOnlyList<FieldSchema> Fields);

public sealed record MediaFieldValue(string FieldName, string FieldType, System.Text.Json.JsonElement Value);

public static class FieldsApi
{
    public static IEndpointRouteBuilder MapFieldsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/datasets/{dataset_id:guid}").WithTags("Custom metadata");
        group.MapPost("/custom_metadata/tasks", DeclareAsync).RequireAuthorization(Scopes.Write)
            .WithSummary("Declare a typed field; answers the task that takes its values")
            .WithDescription("The body must validate against schemas/field-declaration.schema.json; a 400 lists every problem keyed by its JSON path.\n" + IdempotencyKeys.Description)
            .Accepts<DeclareFieldRequest>("application/json")
            .WithIdempotencyKey();
        group.MapPost("/custom_metadata/fields/{field_name}/tasks", FollowUpTask.CreateAsync).RequireAuthorization(Scopes.Write)
            .WithSummary("A follow-up task: more values for an existing field, for items that have none yet")
            .WithDescription(FollowUpTask.Description + "\n" + IdempotencyKeys.Description).WithIdempotencyKey();
        group.MapGet("/custom_metadata/schema", SchemaAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("Every declared field of the dataset");
        group.MapGet("/image/{media_id:guid}/custom_metadata", MediaValuesAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("The custom metadata of one media item");
        return app;
    }

    private static async Task<Results<Ok<DeclareFieldResponse>, ValidationProblem, ProblemHttpResult>> DeclareAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, HttpContext http, NpgsqlDataSource db, SchemaCatalog schemas,
        CancellationToken ct)
    {
        var workspaceId = http.User.WorkspaceId();
        if (!await DatasetsApi.ExistsAsync(db, workspaceId, datasetId, ct))
        {
            return DatasetsApi.NotFound(datasetId);
        }
        // Every rule of a declaration is in schemas/field-declaration.schema.json except the one it cannot
        // express: the name must be new in the dataset, ignoring case (the unique index answers that, below).
        var (request, problem) = await ValidatedBody.ReadAsync<DeclareFieldRequest>(http.Request, schemas.FieldDeclaration,
            "The field declaration is invalid", ct);
        if (problem is not null)
        {
            return problem;
        }

        var fieldId = Guid.CreateVersion7();
        var taskId = Guid.CreateVersion7();
        var type = FieldDefinition.ParseType(request!.FieldType)!.Value;
        var options = type == FieldType.Enum ? request.EnumOptions!.ToArray() : null;
        var isMulti = request.IsMulti ?? false;
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        DateTime createdAt;
        try
        {
            await using var cmd = new NpgsqlCommand("""
                WITH f AS (
                    INSERT INTO fields (field_id, workspace_id, dataset_id, field_name, field_type, enum_options, is_multi)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    RETURNING created_at
                )
                INSERT INTO tasks (task_id, workspace_id, dataset_id, field_id, status, created_at)
                SELECT $8, $2, $3, $1, 'INIT', f.created_at FROM f
                RETURNING created_at
                """, conn);
            cmd.Parameters.Add(new NpgsqlParameter { Value = fieldId });
            cmd.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
            cmd.Parameters.Add(new NpgsqlParameter { Value = datasetId });
            cmd.Parameters.Add(new NpgsqlParameter { Value = request.FieldName! });
            cmd.Parameters.Add(new NpgsqlParameter { Value = request.FieldType! });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)options ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = isMulti });
            cmd.Parameters.Add(new NpgsqlParameter { Value = taskId });
            createdAt = (DateTime)(await cmd.ExecuteScalarAsync(ct))!;
            // The field's own values table, empty and detached until its first upload fills and indexes it.
            await conn.ExecuteAsync("SELECT create_field_values_table($1)", ct, fieldId);
            await tx.CommitAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return TypedResults.Problem(statusCode: 409, title: "Field already exists",
                detail: $"Field '{request.FieldName}' already exists in this dataset (names are compared ignoring case). " +
                        "Pick another name, or send more values to the existing field with a follow-up task.");
        }
        return TypedResults.Ok(new DeclareFieldResponse(taskId, TaskStatuses.Init, datasetId, request.FieldName!, request.FieldType!,
            options, isMulti, createdAt));
    }

    private static async Task<Results<Ok<DatasetSchemaResponse>, ProblemHttpResult>> SchemaAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, HttpContext http, NpgsqlDataSource db, CancellationToken ct)
    {
        var workspaceId = http.User.WorkspaceId();
        if (!await DatasetsApi.ExistsAsync(db, workspaceId, datasetId, ct))
        {
            return DatasetsApi.NotFound(datasetId);
        }
        await using var cmd = db.CreateCommand("""
            SELECT f.field_name, f.field_type, f.enum_options, f.is_multi, f.created_at,
                   (SELECT t.task_id FROM tasks t WHERE t.field_id = f.field_id ORDER BY t.created_at, t.task_id LIMIT 1)
            FROM fields f
            WHERE f.workspace_id = $1 AND f.dataset_id = $2
            ORDER BY f.created_at, f.field_id
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = datasetId });
        var fields = new List<FieldSchema>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            fields.Add(new FieldSchema(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetFieldValue<string[]>(2),
                r.GetBoolean(3), r.GetDateTime(4), r.GetGuid(5)));
        }
        return TypedResults.Ok(new DatasetSchemaResponse(datasetId, fields));
    }

    private static async Task<Results<Ok<List<MediaFieldValue>>, ProblemHttpResult>> MediaValuesAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromRoute(Name = "media_id")] Guid mediaId, HttpContext http,
        NpgsqlDataSource db, CancellationToken ct)
    {
        var workspaceId = http.User.WorkspaceId();
        await using var conn = await db.OpenConnectionAsync(ct);
        var dataset = await MediaFilter.LoadDatasetAsync(conn, workspaceId, datasetId, ct);
        await using var cmd = new NpgsqlCommand($"""
            SELECT f.field_name, f.field_type, ({DatasetExport.ValueJsonSql})::text
            FROM media_items m
            LEFT JOIN LATERAL ({FieldValueTables.ItemValuesSql(dataset?.Fields ?? [])}) v ON true
            LEFT JOIN fields f ON f.field_id = v.field_id
            WHERE m.workspace_id = $1 AND m.dataset_id = $2 AND m.media_id = $3
            ORDER BY f.field_name
            """, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = datasetId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = mediaId });
        var values = new List<MediaFieldValue>();
        var found = false;
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            found = true;
            if (!r.IsDBNull(0))
            {
                using var doc = System.Text.Json.JsonDocument.Parse(r.IsDBNull(2) ? "null" : r.GetString(2));
                values.Add(new MediaFieldValue(r.GetString(0), r.GetString(1), doc.RootElement.Clone()));
            }
        }
        return found
            ? TypedResults.Ok(values)
            : TypedResults.Problem(statusCode: 404, title: "Media item not found",
                detail: $"No media item {mediaId} in dataset {datasetId} of this workspace.");
    }
}
