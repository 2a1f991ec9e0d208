using System.Reflection;
using Npgsql;

namespace Ingestion.Api.Infrastructure.Database;

/// <summary>
/// Applies the numbered, forward-only scripts in Migrations/ that the database has not seen, each in its own
/// transaction, before anything else starts. An advisory lock keeps two nodes starting at once from racing.
/// </summary>
public sealed class SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger) : IHostedService
{
    private const long MigrationLockKey = 0x1A65_7510_0001;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var conn = await dataSource.OpenConnectionAsync(cancellationToken);
        await conn.ExecuteAsync("SELECT pg_advisory_lock($1)", cancellationToken, MigrationLockKey);
        try
        {
            await conn.ExecuteAsync("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, cancellationToken);
            var applied = new HashSet<string>();
            await using (var cmd = new NpgsqlCommand("SELECT version FROM schema_migrations", conn))
            await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetString(0));
                }
            }

            foreach (var (version, sql) in Scripts().Where(s => !applied.Contains(s.Version)))
            {
                await using var tx = await conn.BeginTransactionAsync(cancellationToken);
                await conn.ExecuteAsync(sql, cancellationToken);
                await conn.ExecuteAsync("INSERT INTO schema_migrations (version) VALUES ($1)", cancellationToken, version);
                await tx.CommitAsync(cancellationToken);
                logger.LogInformation("Applied migration {Version}", version);
            }
        }
        finally
        {
            await conn.ExecuteAsync("SELECT pg_advisory_unlock($1)", CancellationToken.None, MigrationLockKey);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static IEnumerable<(string Version, string Sql)> Scripts()
    {
        var assembly = Assembly.GetExecutingAssembly();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("Migrations.")).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (Path.GetFileNameWithoutExtension(name["Migrations.".Length..]), reader.ReadToEnd());
        }
    }
}
