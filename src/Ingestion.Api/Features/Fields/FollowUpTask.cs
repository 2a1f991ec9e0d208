using Ingestion.Api.Features.Datasets;
using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Infrastructure.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Ingestion.Api.Features.Fields;

/// <summary>
/// More values for a field that already exists: a new task that takes one upload, like the declaring task.
/// Immutability is the job's rule, not this endpoint's: a row for an item that already holds a value for the
/// field fails as value_already_set whichever task it comes in.
/// </summary>
public static class FollowUpTask
{
    public const string Description = """
        Opens a new task on an existing field (the name matches ignoring case) and answers it like a declaration:
        200 with the task in INIT. Upload a values file to it as to any task. Only media items that do not hold a
        value for the field yet take one; a row for an item that already has a value fails with
        `value_already_set`, because values are immutable. Typical use: fix the rows of an error report
        (`…/tasks/{task_id}/errors.csv`) and send them here. The schema keeps listing the declaring task.
        """;

    public static async Task<Results<Ok<DeclareFieldResponse>, ProblemHttpResult>> CreateAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromRoute(Name = "field_name")] string fieldName, HttpContext http,
        NpgsqlDataSource db, CancellationToken ct)
    {
        var workspaceId = http.User.WorkspaceId();
        var taskId = Guid.CreateVersion7();
        await using var cmd = db.CreateCommand("""
            WITH f AS (
                SELECT field_id, field_name, field_type, enum_options, is_multi FROM fields
                WHERE workspace_id = $1 AND dataset_id = $2 AND lower(field_name) = lower($3)
            ),
            t AS (
                INSERT INTO tasks (task_id, workspace_id, dataset_id, field_id, status)
                SELECT $4, $1, $2, f.field_id, 'INIT' FROM f
                RETURNING created_at
            )
            SELECT f.field_name, f.field_type, f.enum_options, f.is_multi, t.created_at FROM f, t
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = datasetId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = fieldName });
        cmd.Parameters.Add(new NpgsqlParameter { Value = taskId });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct))
        {
            await r.DisposeAsync();
            return await DatasetsApi.ExistsAsync(db, workspaceId, datasetId, ct)
                ? TypedResults.Problem(statusCode: 404, title: "Field not found",
                    detail: $"No field '{fieldName}' is declared in dataset {datasetId}. Declare it first with POST …/custom_metadata/tasks; " +
                            "the schema (GET …/custom_metadata/schema) lists the declared fields.")
                : DatasetsApi.NotFound(datasetId);
        }
        return TypedResults.Ok(new DeclareFieldResponse(taskId, TaskStatuses.Init, datasetId, r.GetString(0), r.GetString(1),
            r.IsDBNull(2) ? null : r.GetFieldValue<string[]>(2), r.GetBoolean(3), r.GetDateTime(4)));
    }
}
