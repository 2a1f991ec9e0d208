using Ingestion.Api.Features.Schemas;
using Ingestion.Api.Infrastructure.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Ingestion.Api.Features.Datasets;

public sealed record CreateDatasetRequest(string? Name);

public sealed record DatasetResponse(Guid DatasetId, string Name, string Status, DateTime CreatedAt, long MediaCount);

public sealed record DatasetListResponse(IReadOnlyList<DatasetResponse> Datasets);

public static class DatasetsApi
{
    public const int MaxNameLength = 200;

    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/datasets").WithTags("Datasets");
        group.MapPost("/", CreateAsync).RequireAuthorization(Scopes.Write)
            .WithSummary("Create a dataset")
            .WithDescription("The body must validate against schemas/dataset-create.schema.json.")
            .Accepts<CreateDatasetRequest>("application/json");
        group.MapGet("/", ListAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("List the workspace's datasets");
        group.MapGet("/{dataset_id:guid}", GetAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("One dataset");
        group.MapPost("/{dataset_id:guid}/media", MediaRegistration.RegisterAsync).RequireAuthorization(Scopes.Write)
            .WithSummary("Register media items in bulk (JSON array or NDJSON of file_name/file_path/media_type); streams")
            .WithMetadata(new DisableRequestSizeLimitAttribute());
        group.MapGet("/{dataset_id:guid}/export", DatasetExport.ExportAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("The dataset as Visual Layer's JSON export, streamed");
        return app;
    }

    private static async Task<Results<Created<DatasetResponse>, ValidationProblem>> CreateAsync(
        HttpContext http, NpgsqlDataSource db, SchemaCatalog schemas, CancellationToken ct)
    {
        var (request, problem) = await ValidatedBody.ReadAsync<CreateDatasetRequest>(http.Request, schemas.DatasetCreate,
            "The dataset is invalid", ct);
        if (problem is not null)
        {
            return problem;
        }
        // Length is checked here, not in the schema: it counts the name after trimming, which a schema cannot.
        var name = request!.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["name"] = [$"name is required: 1 to {MaxNameLength} characters."],
            });
        }
        await using var cmd = db.CreateCommand("""
            INSERT INTO datasets (dataset_id, workspace_id, name) VALUES ($1, $2, $3)
            RETURNING created_at
            """);
        var id = Guid.CreateVersion7();
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        cmd.Parameters.Add(new NpgsqlParameter { Value = http.User.WorkspaceId() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        var createdAt = (DateTime)(await cmd.ExecuteScalarAsync(ct))!;
        return TypedResults.Created($"/api/v1/datasets/{id}", new DatasetResponse(id, name, "READY", createdAt, 0));
    }

    private static async Task<Ok<DatasetListResponse>> ListAsync(HttpContext http, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            {SelectDataset}
            WHERE d.workspace_id = $1
            ORDER BY d.created_at, d.dataset_id
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = http.User.WorkspaceId() });
        var list = new List<DatasetResponse>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(ReadDataset(r));
        }
        return TypedResults.Ok(new DatasetListResponse(list));
    }

    private static async Task<Results<Ok<DatasetResponse>, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, HttpContext http, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            {SelectDataset}
            WHERE d.workspace_id = $1 AND d.dataset_id = $2
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = http.User.WorkspaceId() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = datasetId });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? TypedResults.Ok(ReadDataset(r)) : NotFound(datasetId);
    }

    // The item count is kept exact by triggers on media_items (migration 0010): listing datasets of millions of items
    // reads a few rows each instead of counting them.
    private const string SelectDataset = """
        SELECT d.dataset_id, d.name, d.created_at, dataset_item_count(d.dataset_id)
        FROM datasets d
        """;

    private static DatasetResponse ReadDataset(NpgsqlDataReader r) =>
        new(r.GetGuid(0), r.GetString(1), "READY", r.GetDateTime(2), r.GetInt64(3));

    /// <summary>Whether the dataset exists in the caller's workspace; one from another workspace does not.</summary>
    public static async Task<bool> ExistsAsync(NpgsqlDataSource db, Guid workspaceId, Guid datasetId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT 1 FROM datasets WHERE workspace_id = $1 AND dataset_id = $2");
        cmd.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = datasetId });
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    public static ProblemHttpResult NotFound(Guid datasetId) =>
        TypedResults.Problem(statusCode: 404, title: "Dataset not found",
            detail: $"No dataset {datasetId} in this workspace. List yours with GET /api/v1/datasets.");
}
