using System.Diagnostics;
using System.Net;

namespace Ingestion.Tests.Harness;

/// <summary>
/// The service as a separate OS process, for what an in-process host cannot show: a node killed with SIGKILL
/// mid-job, and another node taking its work over.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;

    public Uri BaseAddress { get; }

    private ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public static async Task<ServiceProcess> StartAsync(string connectionString, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Ingestion.Api.dll");
        // Port 0: the service binds a free port itself and says which. A port picked here and freed for it to bind
        // could be taken in between, by any of the run's outgoing connections among others.
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--urls", "http://127.0.0.1:0" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.Environment["ConnectionStrings__Ingestion"] = connectionString;
        start.Environment["Ingestion__Auth__BootstrapToken"] = IngestionApp.AdminToken;
        start.Environment["Ingestion__Jobs__IdleWait"] = "00:00:01";
        start.Environment["Ingestion__Jobs__CheckinInterval"] = "00:00:01";
        start.Environment["Ingestion__Jobs__CheckinMisfireThreshold"] = "00:00:02";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }
        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }
            output.Enqueue(line);
            var at = line.IndexOf(ListeningOn, StringComparison.Ordinal);
            if (at >= 0)
            {
                listening.TrySetResult(new Uri(line[(at + ListeningOn.Length)..].Trim()));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                output.Enqueue(line);
            }
        };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException(
            $"The service exited with {process.ExitCode} while starting. It printed:\n{string.Join('\n', output)}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        ServiceProcess? service = null;
        try
        {
            service = new ServiceProcess(process, await listening.Task.WaitAsync(TimeSpan.FromSeconds(60)));
            using var http = new HttpClient { BaseAddress = service.BaseAddress };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await http.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("The service did not become ready within 60 s.");
                }
                await Task.Delay(200);
            }
            return service;
        }
        catch
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
            process.Dispose();
            throw;
        }
    }

    private const string ListeningOn = "Now listening on: ";

    public ApiClient Client(string token) => ApiClient.For(new HttpClient { BaseAddress = BaseAddress }, token);

    /// <summary>SIGKILL: no shutdown hooks, no graceful job stop, open transactions cut off.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
