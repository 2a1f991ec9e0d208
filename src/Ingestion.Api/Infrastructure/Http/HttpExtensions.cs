using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.OpenApi;

namespace Ingestion.Api.Infrastructure.Http;

public static class HttpExtensions
{
    /// <summary>snake_case on the wire, problem details for every error, and no request ever answered with a bare 500 page.</summary>
    public static IHostApplicationBuilder AddIngestionHttp(this IHostApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        // A body or parameter that cannot be bound throws, so the problem details can say what was wrong and where,
        // instead of a bare 400.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            // A Content-Type refused by routing (an endpoint's Accepts) or by binding gets the same answer; a 415 an
            // endpoint explains itself (an upload's Content-Encoding) keeps its own.
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType &&
                (context.ProblemDetails.Detail is null || context.Exception is BadHttpRequestException))
            {
                context.ProblemDetails.Detail = $"The body's Content-Type is {context.HttpContext.Request.ContentType ?? "missing"}. " +
                                                "Send the body as JSON, with Content-Type: application/json.";
            }
            else if (context.Exception is BadHttpRequestException bad)
            {
                context.ProblemDetails.Detail = BindingProblem.Describe(bad);
            }
        });
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Ingestion";
            document.Info.Description = ApiDescription;
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "Authorization: Bearer <token>. Scopes: metadata:read, metadata:write, admin (includes both).",
            };
            document.Components.SecuritySchemes["basic"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "basic",
                Description = "The same token as the Basic password (any user name), for tools that read ~/.netrc.",
            };
            return Task.CompletedTask;
        }));
        return builder;
    }

    private const string ApiDescription = """
        Typed custom metadata for image and video datasets, wire-compatible with the Visual Layer custom-metadata API.

        Every endpoint except /health/* needs a token (Bearer, or as the Basic password). A token sees only its own
        workspace: an id from another workspace answers 404 exactly as if it did not exist; a token lacking the
        endpoint's scope answers 403.

        Errors are RFC 9457 problem details: `title` names the problem, `detail` says what was wrong and how to fix
        it, and validation errors carry `errors` keyed by the property at fault. Field names on the wire are
        snake_case; times are RFC 3339 in UTC.

        Uploads are processed by background jobs. Poll the task's status: QUEUED, IN_PROGRESS (with progress 0-100),
        then COMPLETED, COMPLETED_WITH_ERRORS, or FAILED when nothing in the file could be read. inserted_rows +
        error_count always equals the rows in the file. Each row error has the 0-based row_index, the line, a stable
        error_code, a reason and the offending value.
        """;

    public static WebApplication UseIngestionHttp(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A request the service could not bind is the client's mistake, answered with a 4xx that says which; not
            // an error of the service's to log.
            SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException,
            StatusCodeSelector = e => e switch
            {
                BadHttpRequestException b => b.StatusCode,
                // The database unreachable or restarting is an outage, not a fault of the request: 503, retry later.
                Npgsql.NpgsqlException { IsTransient: true } or TimeoutException => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            },
        });
        app.UseStatusCodePages();
        return app;
    }
}
