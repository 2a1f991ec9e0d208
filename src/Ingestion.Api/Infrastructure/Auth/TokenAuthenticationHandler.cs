using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingestion.Api.Infrastructure.Auth;

/// <summary>
/// Accepts the token as <c>Authorization: Bearer &lt;token&gt;</c> or as the password of HTTP Basic (any user
/// name), so that tools reading ~/.netrc work. The token's workspace and scopes become claims.
/// </summary>
public sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    NpgsqlDataSource dataSource)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Token";
    public const string WorkspaceClaim = "workspace_id";
    public const string ScopeClaim = "scope";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = ReadToken(Request.Headers.Authorization.ToString());
        if (token is null)
        {
            return AuthenticateResult.NoResult();
        }

        await using var cmd = dataSource.CreateCommand("""
            SELECT workspace_id, scopes, token_id
            FROM api_tokens
            WHERE token_hash = $1 AND revoked_at IS NULL
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = TokenSecrets.Hash(token) });
        await using var reader = await cmd.ExecuteReaderAsync(Context.RequestAborted);
        if (!await reader.ReadAsync(Context.RequestAborted))
        {
            return AuthenticateResult.Fail("Unknown or revoked token.");
        }

        var claims = new List<Claim>
        {
            new(WorkspaceClaim, reader.GetGuid(0).ToString()),
            new(ClaimTypes.NameIdentifier, reader.GetGuid(2).ToString()),
        };
        claims.AddRange(reader.GetFieldValue<string[]>(1).Select(s => new Claim(ScopeClaim, s)));
        var identity = new ClaimsIdentity(claims, SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"ingestion\", Basic realm=\"ingestion\"";
        await Results.Problem(
            statusCode: 401,
            title: "Unauthorized",
            detail: "Send a token as 'Authorization: Bearer <token>' (or as the Basic password). " +
                    "A fresh install accepts the value of Ingestion__Auth__BootstrapToken.").ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Results.Problem(
            statusCode: 403,
            title: "Forbidden",
            detail: "This token lacks the scope this endpoint needs. Ask a workspace admin for a token with it.").ExecuteAsync(Context);
    }

    internal static string? ReadToken(string header)
    {
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var t = header["Bearer ".Length..].Trim();
            return t.Length > 0 ? t : null;
        }
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
                var colon = decoded.IndexOf(':');
                var password = colon >= 0 ? decoded[(colon + 1)..] : decoded;
                return password.Length > 0 ? password : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }
        return null;
    }
}

public static class PrincipalExtensions
{
    /// <summary>The caller's workspace. Every endpoint is behind authorization, so it is always there.</summary>
    public static Guid WorkspaceId(this ClaimsPrincipal user) =>
        Guid.Parse(user.FindFirstValue(TokenAuthenticationHandler.WorkspaceClaim)
            ?? throw new InvalidOperationException("No workspace claim: is the endpoint missing RequireAuthorization?"));
}
