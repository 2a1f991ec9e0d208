using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Ingestion.Tests.Harness;

/// <summary>The service, in process, against the test run's PostgreSQL, with the settings a test needs.</summary>
public sealed class IngestionApp(string connectionString, IReadOnlyDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    public const string AdminToken = "test-bootstrap-admin-token";

    public static async Task<IngestionApp> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, string? connectionString = null)
    {
        var app = new IngestionApp(connectionString ?? await TestDatabase.ConnectionStringAsync(), settings);
        _ = app.Server; // start now, so migrations and the scheduler are up before the first request
        return app;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // UseSetting, not ConfigureAppConfiguration: Program reads these while it builds, before app configuration is applied.
        builder.UseSetting("ConnectionStrings:Ingestion", connectionString);
        builder.UseSetting("Ingestion:Auth:BootstrapToken", AdminToken);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        // The in-memory TestServer has no request body limit to apply; Kestrel, which the service runs on, does.
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore.Routing.EndpointRoutingMiddleware", "Error");
        builder.UseSetting("Ingestion:Jobs:IdleWait", "00:00:01");
        builder.UseSetting("Ingestion:Jobs:CheckinInterval", "00:00:01");
        builder.UseSetting("Ingestion:Jobs:CheckinMisfireThreshold", "00:00:02");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>A client for a brand-new workspace of its own, holding that workspace's admin token.</summary>
    public async Task<ApiClient> NewWorkspaceClientAsync(string? name = null)
    {
        var admin = ApiClient.For(CreateClient(), AdminToken);
        var workspace = await admin.CreateWorkspaceAsync(name ?? $"ws-{Guid.NewGuid():N}");
        return ApiClient.For(CreateClient(), workspace.Token);
    }
}

/// <summary>Tests that share one running service. Each test still works in its own workspace.</summary>
[CollectionDefinition(Name)]
public sealed class SharedAppCollection : ICollectionFixture<SharedApp>
{
    public const string Name = "shared app";
}

public sealed class SharedApp : IAsyncLifetime
{
    public IngestionApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await IngestionApp.StartAsync();

    public async Task DisposeAsync() => await App.DisposeAsync();
}
