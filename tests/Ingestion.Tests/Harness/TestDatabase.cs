using Ingestion.Api.Infrastructure.Database;
using Npgsql;

namespace Ingestion.Tests.Harness;

/// <summary>
/// One real PostgreSQL server per test run, in a throwaway folder, started on first use and stopped when the
/// test process exits. Tests never share state through it: each works in a workspace of its own.
/// </summary>
public static class TestDatabase
{
    private static readonly Lazy<Task<EmbeddedPostgres>> Server = new(StartAsync);

    public static async Task<string> ConnectionStringAsync() => (await Server.Value).ConnectionString;

    /// <summary>
    /// A fresh database on the same server, for tests about the job cluster itself: nodes sharing a database form
    /// one cluster, so a test that kills or restarts nodes must not share it with the other tests' workers.
    /// </summary>
    public static async Task<string> IsolatedConnectionStringAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(await ConnectionStringAsync());
        var name = $"isolated_{Guid.NewGuid():N}";
        await using (var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString))
        {
            await conn.OpenAsync();
            // The name is generated here from a Guid, never from input.
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await create.ExecuteNonQueryAsync();
        }
        builder.Database = name;
        return builder.ConnectionString;
    }

    private static async Task<EmbeddedPostgres> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), $"ingestion-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(root, "pg"),
            Ephemeral = true,
        });
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover temp folder is harmless.
            }
        };
        return server;
    }
}
