using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace Ingestion.Api.Infrastructure.Auth;

public sealed class AuthOptions
{
    public const string Section = "Ingestion:Auth";

    /// <summary>At start-up, makes sure workspace <c>default</c> exists with an admin token of this value.</summary>
    public string? BootstrapToken { get; set; }
}

public static class AuthExtensions
{
    public static IHostApplicationBuilder AddTokenAuth(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<AuthOptions>(builder.Configuration.GetSection(AuthOptions.Section));
        builder.Services.AddAuthentication(TokenAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            // Every endpoint needs a token unless it says otherwise (only /health/* does).
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Scopes.Read, p => p.RequireClaim(TokenAuthenticationHandler.ScopeClaim, Scopes.Read, Scopes.Write, Scopes.Admin))
            .AddPolicy(Scopes.Write, p => p.RequireClaim(TokenAuthenticationHandler.ScopeClaim, Scopes.Write, Scopes.Admin))
            .AddPolicy(Scopes.Admin, p => p.RequireClaim(TokenAuthenticationHandler.ScopeClaim, Scopes.Admin));
        builder.Services.AddHostedService<BootstrapToken>();
        return builder;
    }
}
