using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

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
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "Ingestion.Api.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--urls", $"http://127.0.0.1:{port}" },
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
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var service = new ServiceProcess(process, new Uri($"http://127.0.0.1:{port}"));
        using var http = new HttpClient { BaseAddress = service.BaseAddress };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with {process.ExitCode} while starting.");
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
                service.Kill();
                throw new TimeoutException("The service did not become ready within 60 s.");
            }
            await Task.Delay(200);
        }
    }

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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
