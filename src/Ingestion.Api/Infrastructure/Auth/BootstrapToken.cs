using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingestion.Api.Infrastructure.Auth;

/// <summary>Makes a fresh install drivable at once: workspace <c>default</c> with an admin token of the configured value.</summary>
public sealed class BootstrapToken(NpgsqlDataSource dataSource, IOptions<AuthOptions> options) : IHostedService
{
    public const string DefaultWorkspace = "default";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(options.Value.BootstrapToken))
        {
            return;
        }
        await using var cmd = dataSource.CreateCommand("""
            WITH ws AS (
                INSERT INTO workspaces (workspace_id, name) VALUES ($1, $2)
                ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
                RETURNING workspace_id
            )
            INSERT INTO api_tokens (token_id, workspace_id, token_hash, name, scopes)
            SELECT $3, ws.workspace_id, $4, 'bootstrap', $5 FROM ws
            ON CONFLICT (token_hash) DO NOTHING
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = Guid.CreateVersion7() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = DefaultWorkspace });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Guid.CreateVersion7() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = TokenSecrets.Hash(options.Value.BootstrapToken) });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Scopes.All.ToArray() });
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
