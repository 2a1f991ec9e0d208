using Ingestion.Api.Infrastructure.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Ingestion.Api.Features.Health;

public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, string> Checks);

public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("Health").AllowAnonymous();
        group.MapGet("/live", () => TypedResults.Ok(new HealthResponse("ok", new Dictionary<string, string>())))
            .WithSummary("The process is up");
        group.MapGet("/ready", ReadyAsync).WithSummary("The database answers and the job scheduler runs");
        return app;
    }

    private static async Task<Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>>> ReadyAsync(
        NpgsqlDataSource db, ITaskQueue queue, CancellationToken ct)
    {
        var checks = new Dictionary<string, string>();
        try
        {
            await using var cmd = db.CreateCommand("SELECT 1");
            await cmd.ExecuteScalarAsync(ct);
            checks["database"] = "ok";
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            checks["database"] = $"unreachable: {e.Message}";
        }
        try
        {
            checks["job_scheduler"] = await queue.IsRunningAsync(ct) ? "ok" : "not running";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            checks["job_scheduler"] = $"failed: {e.Message}";
        }
        var ready = checks.Values.All(v => v == "ok");
        var body = new HealthResponse(ready ? "ok" : "unavailable", checks);
        return ready ? TypedResults.Ok(body) : TypedResults.Json(body, statusCode: 503);
    }
}
