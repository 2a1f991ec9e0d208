using Ingestion.Api.Infrastructure.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Ingestion.Api.Features.Workspaces;

public sealed record CreateWorkspaceRequest(string? Name);

public sealed record CreateWorkspaceResponse(Guid WorkspaceId, string Name, string Token, IReadOnlyList<string> Scopes);

public sealed record CreateTokenRequest(string? Name, List<string>? Scopes);

public sealed record CreateTokenResponse(Guid TokenId, string Name, string Token, IReadOnlyList<string> Scopes);

public sealed record TokenInfo(Guid TokenId, string Name, IReadOnlyList<string> Scopes, DateTime CreatedAt);

/// <summary>
/// Workspaces and their scoped tokens. A token's secret is shown once, at creation; only its hash is stored.
/// </summary>
public static class WorkspacesApi
{
    public static IEndpointRouteBuilder MapWorkspacesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1").WithTags("Workspaces and tokens");
        group.MapPost("/workspaces", CreateWorkspaceAsync).RequireAuthorization(Scopes.Admin)
            .WithSummary("Create a workspace; answers its first admin token (shown once)");
        group.MapPost("/tokens", CreateTokenAsync).RequireAuthorization(Scopes.Admin)
            .WithSummary("Create a scoped token in the caller's workspace (shown once)");
        group.MapGet("/tokens", ListTokensAsync).RequireAuthorization(Scopes.Admin)
            .WithSummary("The caller's workspace's tokens, without secrets");
        return app;
    }

    private static async Task<Results<Created<CreateWorkspaceResponse>, ValidationProblem, ProblemHttpResult>> CreateWorkspaceAsync(
        CreateWorkspaceRequest request, NpgsqlDataSource db, CancellationToken ct)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 100)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["name is required: 1 to 100 characters."] });
        }
        var workspaceId = Guid.CreateVersion7();
        var token = TokenSecrets.NewToken();
        await using var cmd = db.CreateCommand("""
            WITH ws AS (INSERT INTO workspaces (workspace_id, name) VALUES ($1, $2) RETURNING workspace_id)
            INSERT INTO api_tokens (token_id, workspace_id, token_hash, name, scopes)
            SELECT $3, workspace_id, $4, 'admin', $5 FROM ws
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Guid.CreateVersion7() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = TokenSecrets.Hash(token) });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Scopes.All.ToArray() });
        try
        {
            await cmd.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return TypedResults.Problem(statusCode: 409, title: "Workspace already exists", detail: $"A workspace named '{name}' already exists.");
        }
        return TypedResults.Created($"/api/v1/workspaces/{workspaceId}", new CreateWorkspaceResponse(workspaceId, name, token, Scopes.All));
    }

    private static async Task<Results<Created<CreateTokenResponse>, ValidationProblem>> CreateTokenAsync(
        CreateTokenRequest request, HttpContext http, NpgsqlDataSource db, CancellationToken ct)
    {
        var scopes = request.Scopes ?? [];
        var unknown = scopes.Where(s => !Scopes.All.Contains(s)).ToList();
        if (scopes.Count == 0 || unknown.Count > 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["scopes"] = [$"scopes must name at least one of {string.Join(", ", Scopes.All)}" +
                              (unknown.Count > 0 ? $"; unknown: {string.Join(", ", unknown)}." : ".")],
            });
        }
        var name = string.IsNullOrWhiteSpace(request.Name) ? "token" : request.Name.Trim();
        var token = TokenSecrets.NewToken();
        var tokenId = Guid.CreateVersion7();
        await using var cmd = db.CreateCommand("""
            INSERT INTO api_tokens (token_id, workspace_id, token_hash, name, scopes) VALUES ($1, $2, $3, $4, $5)
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = tokenId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = http.User.WorkspaceId() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = TokenSecrets.Hash(token) });
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        cmd.Parameters.Add(new NpgsqlParameter { Value = scopes.Distinct().ToArray() });
        await cmd.ExecuteNonQueryAsync(ct);
        return TypedResults.Created($"/api/v1/tokens/{tokenId}", new CreateTokenResponse(tokenId, name, token, scopes.Distinct().ToList()));
    }

    private static async Task<Ok<List<TokenInfo>>> ListTokensAsync(HttpContext http, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            SELECT token_id, name, scopes, created_at FROM api_tokens
            WHERE workspace_id = $1 AND revoked_at IS NULL ORDER BY created_at
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = http.User.WorkspaceId() });
        var list = new List<TokenInfo>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(new TokenInfo(r.GetGuid(0), r.GetString(1), r.GetFieldValue<string[]>(2), r.GetDateTime(3)));
        }
        return TypedResults.Ok(list);
    }
}
