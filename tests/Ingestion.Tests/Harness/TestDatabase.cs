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
    /// A server of the test's own, for a test that restarts it: restarting the shared one would cut the connections
    /// of every other test. Dispose it at the end of the test.
    /// </summary>
    public static async Task<PrivateServer> StartPrivateServerAsync()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"ingestion-tests-private-{Guid.NewGuid():N}", "pg");
        var server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { DataDirectory = dataDirectory, Ephemeral = true });
        return new PrivateServer(server, dataDirectory);
    }

    public sealed class PrivateServer(EmbeddedPostgres server, string dataDirectory) : IAsyncDisposable
    {
        public string ConnectionString => server.ConnectionString;

        /// <summary>
        /// Restarts the server under everyone connected (fast mode: sessions are cut, open transactions roll
        /// back), as a database failover or an operator's restart would.
        /// </summary>
        public async Task RestartAsync()
        {
            var pgCtl = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", "pg_ctl")).First(File.Exists);
            var asRoot = Environment.UserName == "root";
            var start = new System.Diagnostics.ProcessStartInfo(asRoot ? "runuser" : pgCtl) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in asRoot ? ["-u", "postgres", "--", pgCtl] : Array.Empty<string>())
            {
                start.ArgumentList.Add(a);
            }
            foreach (var a in (string[])["restart", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60"])
            {
                start.ArgumentList.Add(a);
            }
            using var process = System.Diagnostics.Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"pg_ctl restart failed: {await stderr}{await stdout}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await server.DisposeAsync();
            try
            {
                Directory.Delete(Path.GetDirectoryName(dataDirectory)!, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }

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
