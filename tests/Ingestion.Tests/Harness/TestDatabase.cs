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

    private static readonly Lazy<Task<NpgsqlDataSource>> Source = new(async () => NpgsqlDataSource.Create(await ConnectionStringAsync()));

    public static async Task<string> ConnectionStringAsync() => (await Server.Value).ConnectionString;

    /// <summary>
    /// The shared database's data source, for tests that arrange or check rows directly (or hand it to the service's own
    /// code). It lives as long as the server, so tests do not dispose it.
    /// </summary>
    public static Task<NpgsqlDataSource> DataSourceAsync() => Source.Value;

    /// <summary>An open connection to the shared database; the test disposes it.</summary>
    public static async Task<NpgsqlConnection> OpenConnectionAsync() => await (await Source.Value).OpenConnectionAsync();

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

    /// <summary>
    /// A new folder name for a server of this test run: named with the run's process, so that once the run has ended
    /// the next run removes what it left (<see cref="RemoveFoldersOfEndedRuns"/>).
    /// </summary>
    public static string NewRunFolder() => Path.Combine(Path.GetTempPath(), $"ingestion-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");

    private static async Task<EmbeddedPostgres> StartAsync()
    {
        RemoveFoldersOfEndedRuns();
        var root = NewRunFolder();
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

    /// <summary>
    /// The exit handler above does not always run to the end (the test host can be stopped first), and each left folder
    /// holds a whole database (hundreds of MB). A folder is removed only when both the test process named in it and the
    /// PostgreSQL server recorded in it are gone, so a run still going on beside this one keeps its folder.
    /// </summary>
    private static void RemoveFoldersOfEndedRuns()
    {
        foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), "ingestion-tests-*"))
        {
            var parts = Path.GetFileName(folder).Split('-');
            if (parts.Length < 4 || !int.TryParse(parts[2], out var testProcess) || IsAlive(testProcess))
            {
                continue;
            }
            var postmaster = Path.Combine(folder, "pg", "postmaster.pid");
            if (File.Exists(postmaster) && int.TryParse(File.ReadLines(postmaster).FirstOrDefault(), out var server) && IsAlive(server))
            {
                continue;
            }
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Still in use or not ours to remove: leave it.
            }
        }
    }

    private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}") || (!OperatingSystem.IsLinux() && ProcessExists(pid));

    private static bool ProcessExists(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
