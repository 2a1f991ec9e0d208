using System.Diagnostics;
using System.Net;

namespace Ingestion.Bench;

/// <summary>
/// The service as a separate process, started the way an operator starts it (dotnet Ingestion.Api.dll), so its
/// resident memory is its own and can be read from /proc.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    public Uri BaseAddress { get; }
    public int Pid => _process.Id;

    private ServiceProcess(Process process, StreamWriter log, Uri baseAddress)
    {
        _process = process;
        _log = log;
        BaseAddress = baseAddress;
    }

    public static async Task<ServiceProcess> StartAsync(string connectionString, string token, string logPath)
    {
        var dll = FindServiceDll();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        // Port 0: the service binds a free port itself and says which. A port picked here and freed for it to bind could
        // be taken in between.
        foreach (var a in (string[])[dll, "--urls", "http://127.0.0.1:0"])
        {
            start.ArgumentList.Add(a);
        }
        // As `dotnet run` (launchSettings.json) and the Docker image start it; a value of the caller's own is kept.
        start.Environment.TryAdd("DOTNET_TC_CallCountingDelayMs", "0");
        start.Environment["ConnectionStrings__Ingestion"] = connectionString;
        start.Environment["Ingestion__Auth__BootstrapToken"] = token;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        // The runner's per-phase timings are logged at Debug: they are the benchmark's profile.
        start.Environment["Logging__LogLevel__Ingestion.Api.Features.Validation"] = "Debug";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the service.");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (log)
            {
                log.WriteLine(e.Data);
            }
            if (e.Data.IndexOf(ListeningOn, StringComparison.Ordinal) is var at and >= 0)
            {
                listening.TrySetResult(new Uri(e.Data[(at + ListeningOn.Length)..].Trim()));
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => listening.TrySetException(
            new InvalidOperationException($"The service exited with {process.ExitCode} at start; see {logPath}."));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var service = new ServiceProcess(process, log, await listening.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        using var http = new HttpClient { BaseAddress = service.BaseAddress };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with {process.ExitCode} at start; see {logPath}.");
            }
            try
            {
                if ((await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    return service;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The service did not become ready within 60 s; see {logPath}.");
            }
            await Task.Delay(200);
        }
    }

    private const string ListeningOn = "Now listening on: ";

    /// <summary>Resident memory now and its peak over the process's life (VmRSS, VmHWM), in bytes.</summary>
    public (long Rss, long Peak) Memory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line);
            }
        }
        return (rss, peak);
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;

    /// <summary>
    /// The service's dll: the one INGESTION_SERVICE_DLL names (a published build, say), else beside this program when
    /// the project reference copied it with its runtime config, else in its own build output.
    /// </summary>
    private static string FindServiceDll()
    {
        if (Environment.GetEnvironmentVariable("INGESTION_SERVICE_DLL") is { Length: > 0 } given)
        {
            return File.Exists(given) ? Path.GetFullPath(given) : throw new FileNotFoundException($"INGESTION_SERVICE_DLL names {given}, which does not exist.");
        }
        var here = Path.Combine(AppContext.BaseDirectory, "Ingestion.Api.dll");
        if (File.Exists(Path.ChangeExtension(here, ".runtimeconfig.json")))
        {
            return here;
        }
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Name ?? "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Ingestion.Api", "bin", configuration, "net10.0", "Ingestion.Api.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException("Ingestion.Api.dll not found; build the solution in this configuration first.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}
