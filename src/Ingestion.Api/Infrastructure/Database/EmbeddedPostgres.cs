using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Ingestion.Api.Infrastructure.Database;

/// <summary>Where and how an embedded PostgreSQL server lives.</summary>
public sealed class EmbeddedPostgresOptions
{
    /// <summary>Cluster folder; created and initialised when it holds no cluster yet.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>TCP port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; init; }

    public string DatabaseName { get; init; } = "ingestion";

    /// <summary>Folder of initdb/pg_ctl; found among /usr/lib/postgresql/*/bin when empty.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>Trade durability for speed: right for throwaway test clusters only.</summary>
    public bool Ephemeral { get; init; }
}

/// <summary>
/// Starts a private PostgreSQL cluster from the machine's binaries so that the service and the tests run
/// with nothing configured. initdb and postgres refuse to run as root, so when we are root every server
/// command runs as the <c>postgres</c> user, and the cluster folder is handed to that user.
/// </summary>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    private readonly EmbeddedPostgresOptions _options;
    private readonly string _binDirectory;
    private readonly bool _startedByUs;

    public string ConnectionString { get; }
    public int Port { get; }

    private EmbeddedPostgres(EmbeddedPostgresOptions options, string binDirectory, int port, bool startedByUs)
    {
        _options = options;
        _binDirectory = binDirectory;
        _startedByUs = startedByUs;
        Port = port;
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = options.DatabaseName,
            MaxPoolSize = 50,
        }.ConnectionString;
    }

    public static async Task<EmbeddedPostgres> StartAsync(EmbeddedPostgresOptions options, CancellationToken ct = default)
    {
        var bin = options.BinDirectory is { Length: > 0 } b ? b : FindBinDirectory();
        var dataDir = Path.GetFullPath(options.DataDirectory);
        var runDir = dataDir + ".run";
        Directory.CreateDirectory(dataDir);
        Directory.CreateDirectory(runDir);
        await HandToServerUserAsync(dataDir, runDir, ct);

        if (!File.Exists(Path.Combine(dataDir, "PG_VERSION")))
        {
            await RunAsync(Path.Combine(bin, "initdb"),
                ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], ct);
        }

        var port = ReadRunningPort(dataDir);
        var startedByUs = false;
        if (port is null || !await CanConnectAsync(port.Value, ct))
        {
            port = options.Port > 0 ? options.Port : FreePort();
            var settings = new List<string>
            {
                $"-p {port}", "-c listen_addresses=127.0.0.1", $"-c unix_socket_directories={runDir}",
                "-c max_connections=200", "-c shared_buffers=256MB", "-c max_wal_size=4GB", "-c log_lock_waits=on",
                // A local server has no replica or WAL archive to feed, so it logs only what crash recovery needs: an
                // index built in its own transaction is then written and synced at commit instead of also going through
                // the WAL. A bulk load's builds took 0.44-0.71 s against 0.53-1.28 s at 1M rows, and the WAL a load writes
                // shrank enough that loads no longer meet a checkpoint every few uploads (docs/benchmarks.md, 5 Dec).
                "-c wal_level=minimal", "-c max_wal_senders=0",
            };
            if (options.Ephemeral)
            {
                settings.AddRange(["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]);
            }
            await RunAsync(Path.Combine(bin, "pg_ctl"),
                ["start", "-D", dataDir, "-w", "-t", "60", "-l", Path.Combine(runDir, "postgres.log"), "-o", string.Join(' ', settings)], ct,
                environment: ServerEnvironment());
            startedByUs = true;
        }

        var server = new EmbeddedPostgres(options, bin, port.Value, startedByUs);
        await server.EnsureDatabaseAsync(ct);
        return server;
    }

    private async Task EnsureDatabaseAsync(CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false };
        await using var conn = new NpgsqlConnection(admin.ConnectionString);
        await conn.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", conn)
        {
            Parameters = { new() { Value = _options.DatabaseName } },
        };
        if (await exists.ExecuteScalarAsync(ct) is null)
        {
            // Identifiers cannot be parameters; the name comes from our own options, quoted as an identifier.
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{_options.DatabaseName.Replace("\"", "\"\"")}\"", conn);
            await create.ExecuteNonQueryAsync(ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_startedByUs)
        {
            return;
        }
        NpgsqlConnection.ClearAllPools();
        await StopAsync("fast", throwOnError: false);
    }

    /// <summary>
    /// Stops the server as a crash would: an immediate shutdown, no checkpoint, so the next start replays the WAL.
    /// For tests of what survives the database going away.
    /// </summary>
    internal Task CrashAsync() => StopAsync("immediate", throwOnError: true);

    private Task StopAsync(string mode, bool throwOnError) => RunAsync(Path.Combine(_binDirectory, "pg_ctl"),
        ["stop", "-D", Path.GetFullPath(_options.DataDirectory), "-m", mode, "-w"], CancellationToken.None, throwOnError: throwOnError);

    private static string FindBinDirectory()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .Select(d => Path.Combine(d, "bin"))
            : [];
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            ?? throw new InvalidOperationException(
                "No PostgreSQL server binaries found under /usr/lib/postgresql/*/bin. Install PostgreSQL 15 " +
                "(apt-get install postgresql-15) or set ConnectionStrings__Ingestion to an existing server.");
    }

    private static int? ReadRunningPort(string dataDir)
    {
        // postmaster.pid line 4 is the port; a stale file is caught by the connection probe that follows.
        var pidFile = Path.Combine(dataDir, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return null;
        }
        try
        {
            var lines = File.ReadAllLines(pidFile);
            return lines.Length > 3 && int.TryParse(lines[3], out var p) ? p : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static async Task<bool> CanConnectAsync(int port, CancellationToken ct)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>
    /// The server's C library is asked to back its large allocations with transparent huge pages (taken only where
    /// the kernel offers them on request, as Debian's and Ubuntu's do by default). An index build fills up to
    /// maintenance_work_mem of freshly allocated memory; on 4 KiB pages each first touch is a page fault, which under
    /// a hypervisor cost a quarter to a third of a 1M-row build (docs/benchmarks.md). The library also keeps what a
    /// process frees (allocations up to 32 MB come from its heap, which is never trimmed), so that a build on a
    /// connection that built before reuses memory already faulted in (<see cref="IndexBuildConnections"/>): a server
    /// process holds on to its largest footprint until it exits. A caller's own GLIBC_TUNABLES comes after and so wins:
    /// glibc.malloc.hugetlb=0 there switches huge pages off, and glibc.malloc.trim_threshold=131072 has freed memory
    /// given back again.
    /// </summary>
    private static Dictionary<string, string> ServerEnvironment()
    {
        const string Tunables = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=2147483647";
        var inherited = Environment.GetEnvironmentVariable("GLIBC_TUNABLES");
        return new() { ["GLIBC_TUNABLES"] = inherited is { Length: > 0 } ? $"{Tunables}:{inherited}" : Tunables };
    }

    private static async Task HandToServerUserAsync(string dataDir, string runDir, CancellationToken ct)
    {
        if (!IsRoot)
        {
            return;
        }
        await RunAsync("chown", ["-R", "postgres:postgres", dataDir, runDir], ct, asServerUser: false);
        await RunAsync("chmod", ["700", dataDir], ct, asServerUser: false);
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args, CancellationToken ct,
        bool asServerUser = true, bool throwOnError = true, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        if (asServerUser && IsRoot)
        {
            start.FileName = "runuser";
            foreach (var a in (string[])["-u", "postgres", "--", file])
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = file;
        }
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        // runuser passes the environment on to the server user's command (it resets only HOME, SHELL, USER, LOGNAME).
        foreach (var (name, value) in environment ?? ReadOnlyDictionary<string, string>.Empty)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0 && throwOnError)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }
}
