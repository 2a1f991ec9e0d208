using System.Text.Json.Nodes;
using Ingestion.Api.Features.Datasets;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Infrastructure.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Ingestion.Api.Features.Schemas;

public static class SchemasApi
{
    public const string SchemaContentType = "application/schema+json";

    /// <summary>Loads and compiles schemas/ once; every request reuses the compiled documents.</summary>
    public static async Task AddSchemasAsync(this IHostApplicationBuilder builder) =>
        builder.Services.AddSingleton(await SchemaCatalog.LoadAsync());

    public static IEndpointRouteBuilder MapSchemasApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/datasets/{dataset_id:guid}/custom_metadata/fields/{field_name}/schema", RowSchemaAsync)
            .WithTags("Custom metadata").RequireAuthorization(Scopes.Read)
            .WithSummary("The JSON Schema (draft-07) of one upload row of a declared field, enum options included")
            .WithDescription("Check a values file before uploading it: every row that validates against this schema passes the " +
                             "service's row checks, except numbers beyond ±1.8e308, which the schema cannot bound. The field name " +
                             "is matched ignoring case.")
            .Produces<JsonObject>(StatusCodes.Status200OK, SchemaContentType);
        return app;
    }

    private static async Task<Results<JsonHttpResult<JsonObject>, ProblemHttpResult>> RowSchemaAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromRoute(Name = "field_name")] string fieldName,
        HttpContext http, NpgsqlDataSource db, SchemaCatalog schemas, CancellationToken ct)
    {
        var workspaceId = http.User.WorkspaceId();
        if (!await DatasetsApi.ExistsAsync(db, workspaceId, datasetId, ct))
        {
            return DatasetsApi.NotFound(datasetId);
        }
        // lower() on both sides: the same comparison as the unique index fields_dataset_name_unique.
        await using var cmd = db.CreateCommand("""
            SELECT field_id, field_name, field_type, enum_options, is_multi
            FROM fields
            WHERE workspace_id = $1 AND dataset_id = $2 AND lower(field_name) = lower($3)
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = datasetId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = fieldName });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct))
        {
            return TypedResults.Problem(statusCode: 404, title: "Field not found",
                detail: $"No field '{fieldName}' is declared in dataset {datasetId}. GET …/custom_metadata/schema lists the declared fields.");
        }
        var field = new FieldDefinition
        {
            FieldId = r.GetGuid(0),
            DatasetId = datasetId,
            Name = r.GetString(1),
            Type = FieldDefinition.ParseType(r.GetString(2))!.Value,
            EnumOptions = r.IsDBNull(3) ? [] : r.GetFieldValue<string[]>(3),
            IsMulti = r.GetBoolean(4),
        };
        return TypedResults.Json(RowSchemas.ForField(schemas.UploadRowTemplate, field), contentType: SchemaContentType);
    }
}
