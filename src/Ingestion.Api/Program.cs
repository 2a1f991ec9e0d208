using Ingestion.Api.Features.Datasets;
using Ingestion.Api.Features.Errors;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Features.Health;
using Ingestion.Api.Features.Schemas;
using Ingestion.Api.Features.Query;
using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Features.Workspaces;
using Ingestion.Api.Infrastructure.Auth;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Api.Infrastructure.Http;
using Ingestion.Api.Infrastructure.Jobs;

var builder = WebApplication.CreateBuilder(args);

builder.AddIngestionDatabase();
builder.AddIngestionHttp();
builder.AddTokenAuth();
builder.AddQuartzTaskQueue();
await builder.AddSchemasAsync();
builder.Services.Configure<IngestOptions>(builder.Configuration.GetSection(IngestOptions.Section));
builder.Services.AddOptions<UploadLimits>().Bind(builder.Configuration.GetSection(UploadLimits.Section))
    .Validate(UploadLimits.AreSane, UploadLimits.SaneDescription).ValidateOnStart();
builder.Services.AddSingleton<DatasetItemKeyCache>();
builder.Services.AddSingleton<ITaskRunner, UploadTaskRunner>();
builder.Services.AddHostedService<StrandedTaskSweeper>();

var app = builder.Build();

app.UseIngestionHttp();
app.UseAuthentication();
app.UseAuthorization();
app.UseIdempotencyKeys();

app.MapOpenApi().AllowAnonymous();
app.MapHealthApi();
app.MapWorkspacesApi();
app.MapDatasetsApi();
app.MapFieldsApi();
app.MapUploadsApi();
app.MapErrorsApi();
app.MapSchemasApi();
app.MapMediaSearchApi();

app.Run();

/// <summary>The service's entry point; public so tests can host it with WebApplicationFactory.</summary>
public partial class Program;
