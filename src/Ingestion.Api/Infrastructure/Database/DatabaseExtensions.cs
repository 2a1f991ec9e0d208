using Npgsql;

namespace Ingestion.Api.Infrastructure.Database;

/// <summary>Settings of the database connection; the connection string itself is <c>ConnectionStrings:Ingestion</c>.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Ingestion:Database";

    /// <summary>Cluster folder of the embedded server used when no connection string is set. Default: .data/postgres at the repository root.</summary>
    public string? EmbeddedDataDirectory { get; set; }

    /// <summary>Port of the embedded server on 127.0.0.1.</summary>
    public int EmbeddedPort { get; set; } = 54329;

    /// <summary>
    /// Connections kept for index builds alone (<see cref="IndexBuildConnections"/>): the most a field builds at once (a
    /// string field's three). 0: builds take connections from the service's pool.
    /// </summary>
    public int IndexBuildConnections { get; set; } = 3;
}

public static class DatabaseExtensions
{
    public const string ConnectionStringName = "Ingestion";

    /// <summary>
    /// Registers the one <see cref="NpgsqlDataSource"/> of the service, the few connections index builds keep to
    /// themselves, and the schema migrations. With no
    /// <c>ConnectionStrings:Ingestion</c>, starts an embedded PostgreSQL first and points the configuration at it,
    /// so that everything configured afterwards (the job store included) sees a real connection string.
    /// </summary>
    public static IHostApplicationBuilder AddIngestionDatabase(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new DatabaseOptions();
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ConnectionStringName)))
        {
            var dataDirectory = options.EmbeddedDataDirectory
                ?? Path.Combine(FindRepositoryRoot(builder.Environment.ContentRootPath), ".data", "postgres");
            var server = EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
            {
                DataDirectory = dataDirectory,
                Port = options.EmbeddedPort,
            }).GetAwaiter().GetResult();
            builder.Configuration[$"ConnectionStrings:{ConnectionStringName}"] = server.ConnectionString;
            builder.Services.AddHostedService(_ => new EmbeddedPostgresLifetime(server));
        }

        var connectionString = WithoutJit(builder.Configuration.GetConnectionString(ConnectionStringName)!);
        builder.Services.AddSingleton(_ => new NpgsqlDataSourceBuilder(WithLargerBuffers(connectionString)).Build());
        builder.Services.AddSingleton(services => new IndexBuildConnections(
            services.GetRequiredService<NpgsqlDataSource>(), connectionString, options.IndexBuildConnections));
        builder.Services.AddHostedService<SchemaMigrator>();
        return builder;
    }

    /// <summary>
    /// JIT compilation costs about a second per large query here, far more than it saves on our short keyed
    /// queries and streamed exports, so sessions turn it off unless the connection string says otherwise.
    /// </summary>
    private static string WithoutJit(string connectionString)
    {
        var csb = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(csb.Options) || !csb.Options.Contains("jit", StringComparison.OrdinalIgnoreCase))
        {
            csb.Options = $"{csb.Options} -c jit=off".Trim();
        }
        return csb.ConnectionString;
    }

    /// <summary>
    /// Bulk loads stream ~100 MB of COPY data per million rows, and reading a stored upload or a dataset's item ids
    /// streams as much back: 64 KiB buffers instead of Npgsql's 8 KiB cut the system calls on both sides eightfold.
    /// A connection string that sets its own sizes keeps them.
    /// </summary>
    private static string WithLargerBuffers(string connectionString)
    {
        const int Size = 64 * 1024;
        var csb = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Write Buffer Size", StringComparison.OrdinalIgnoreCase)
            && !connectionString.Contains("WriteBufferSize", StringComparison.OrdinalIgnoreCase))
        {
            csb.WriteBufferSize = Size;
        }
        if (!connectionString.Contains("Read Buffer Size", StringComparison.OrdinalIgnoreCase)
            && !connectionString.Contains("ReadBufferSize", StringComparison.OrdinalIgnoreCase))
        {
            csb.ReadBufferSize = Size;
        }
        return csb.ConnectionString;
    }

    private static string FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Ingestion.sln")))
            {
                return dir.FullName;
            }
        }
        return start;
    }

    /// <summary>Stops the embedded server with the service, so Ctrl+C leaves nothing running.</summary>
    private sealed class EmbeddedPostgresLifetime(EmbeddedPostgres server) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken) => await server.DisposeAsync();
    }
}
