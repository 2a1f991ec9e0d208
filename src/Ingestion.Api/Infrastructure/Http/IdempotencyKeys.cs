using System.Security.Cryptography;
using Ingestion.Api.Infrastructure.Auth;
using Npgsql;

namespace Ingestion.Api.Infrastructure.Http;

/// <summary>Marks an endpoint that honours an Idempotency-Key; JSON bodies are part of what makes two requests the same.</summary>
public sealed record IdempotentRequest(bool HashesJsonBody);

/// <summary>
/// Idempotency-Key (per workspace, kept 24 h): a retry of a request gets the first answer, status and body, and
/// changes nothing; the key sent with a different request answers 422. The key is stored before the request
/// runs, so of two concurrent retries only one runs; the other answers 409 until the first has finished.
/// Answers of 500 and above, and requests cut off, release the key so a retry can run again.
/// </summary>
public static class IdempotencyKeys
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    public const int MaxKeyLength = 255;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>A key whose request never finished (the node died mid-request) may be taken over after this.</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);

    public const string Description = """
        Send an `Idempotency-Key` header (any string of 1 to 255 printable characters, such as a UUID) to make a
        retry safe: a request repeated with the same key in the same workspace within 24 hours gets the first
        answer again (same status and body, with `Idempotent-Replayed: true`) and creates nothing new. The key sent
        with another request (another path, or another JSON body) answers 422. While the first request is still
        running, a retry answers 409; retry it a moment later. Keys expire 24 hours after first use.
        """;

    /// <summary>
    /// Honours Idempotency-Key on the endpoint. File uploads pass <c>hashesJsonBody: false</c>: the path names the
    /// task, which takes one upload, so the path alone identifies the request and the file is not read twice.
    /// </summary>
    public static TBuilder WithIdempotencyKey<TBuilder>(this TBuilder builder, bool hashesJsonBody = true) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new IdempotentRequest(hashesJsonBody));

    public static IApplicationBuilder UseIdempotencyKeys(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<IdempotentRequest>() is not { } marker
            || !http.Request.Headers.TryGetValue(Header, out var keys))
        {
            await next(http);
            return;
        }
        var key = keys.ToString();
        if (keys.Count != 1 || key.Length is 0 or > MaxKeyLength || key.Any(char.IsControl))
        {
            await TypedResults.Problem(statusCode: 400, title: "Invalid Idempotency-Key",
                detail: $"Send one {Header} header of 1 to {MaxKeyLength} printable characters, such as a new UUID per request.").ExecuteAsync(http);
            return;
        }
        var db = http.RequestServices.GetRequiredService<NpgsqlDataSource>();
        var workspaceId = http.User.WorkspaceId();
        var fingerprint = await FingerprintAsync(http.Request, marker.HashesJsonBody);

        var stored = await ClaimAsync(db, workspaceId, key, fingerprint, http.RequestAborted);
        if (stored is null)
        {
            await RunAndStoreAsync(http, next, db, workspaceId, key);
        }
        else if (stored.Fingerprint != fingerprint)
        {
            await TypedResults.Problem(statusCode: 422, title: "Idempotency-Key used for another request",
                detail: $"{Header} '{key}' was already used in this workspace for another request ({Describe(stored.Fingerprint)}) " +
                        $"within the last {Lifetime.TotalHours:0} hours. Use a new key for a new request; reuse a key only to retry the same request.")
                .ExecuteAsync(http);
        }
        else if (stored.StatusCode is not { } status)
        {
            http.Response.Headers.RetryAfter = "1";
            await TypedResults.Problem(statusCode: 409, title: "Request still in progress",
                detail: $"The first request with {Header} '{key}' is still running. Retry in a moment to get its answer.").ExecuteAsync(http);
        }
        else
        {
            http.Response.StatusCode = status;
            http.Response.ContentType = stored.ContentType;
            if (stored.Location is not null)
            {
                http.Response.Headers.Location = stored.Location;
            }
            http.Response.Headers[ReplayedHeader] = "true";
            await http.Response.Body.WriteAsync(stored.Body, http.RequestAborted);
        }
    });

    private sealed record StoredAnswer(string Fingerprint, int? StatusCode, string? ContentType, string? Location, byte[] Body);

    /// <summary>Takes the key for this request (null), or answers what it already holds.</summary>
    private static async Task<StoredAnswer?> ClaimAsync(NpgsqlDataSource db, Guid workspaceId, string key, string fingerprint, CancellationToken ct)
    {
        // An expired or abandoned key is taken over in the same statement, so two takers cannot both win it.
        await using (var claim = db.CreateCommand("""
            INSERT INTO idempotency_keys (workspace_id, key, fingerprint, expires_at)
            VALUES ($1, $2, $3, now() + $4)
            ON CONFLICT (workspace_id, key) DO UPDATE
            SET fingerprint = excluded.fingerprint, status_code = NULL, content_type = NULL, location = NULL, body = NULL,
                created_at = now(), expires_at = excluded.expires_at
            WHERE idempotency_keys.expires_at < now()
               OR (idempotency_keys.status_code IS NULL AND idempotency_keys.created_at < now() - $5)
            RETURNING true
            """))
        {
            claim.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
            claim.Parameters.Add(new NpgsqlParameter { Value = key });
            claim.Parameters.Add(new NpgsqlParameter { Value = fingerprint });
            claim.Parameters.Add(new NpgsqlParameter { Value = Lifetime });
            claim.Parameters.Add(new NpgsqlParameter { Value = AbandonedAfter });
            if (await claim.ExecuteScalarAsync(ct) is true)
            {
                await using var sweep = db.CreateCommand("DELETE FROM idempotency_keys WHERE expires_at < now()");
                await sweep.ExecuteNonQueryAsync(ct);
                return null;
            }
        }
        await using var read = db.CreateCommand("""
            SELECT fingerprint, status_code, content_type, location, coalesce(body, '') FROM idempotency_keys
            WHERE workspace_id = $1 AND key = $2
            """);
        read.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
        read.Parameters.Add(new NpgsqlParameter { Value = key });
        await using var r = await read.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct))
        {
            // Released by a failed first request between the two statements: the next retry takes it.
            return new StoredAnswer(fingerprint, null, null, null, []);
        }
        return new StoredAnswer(r.GetString(0), r.IsDBNull(1) ? null : r.GetInt32(1), r.IsDBNull(2) ? null : r.GetString(2),
            r.IsDBNull(3) ? null : r.GetString(3), r.GetFieldValue<byte[]>(4));
    }

    private static async Task RunAndStoreAsync(HttpContext http, RequestDelegate next, NpgsqlDataSource db, Guid workspaceId, string key)
    {
        var original = http.Response.Body;
        using var answer = new MemoryStream();
        http.Response.Body = answer;
        try
        {
            await next(http);
        }
        catch
        {
            await ReleaseAsync(db, workspaceId, key);
            throw;
        }
        finally
        {
            http.Response.Body = original;
        }
        if (http.Response.StatusCode >= 500)
        {
            await ReleaseAsync(db, workspaceId, key);
        }
        else
        {
            await using var store = db.CreateCommand("""
                UPDATE idempotency_keys SET status_code = $3, content_type = $4, location = $5, body = $6
                WHERE workspace_id = $1 AND key = $2
                """);
            store.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
            store.Parameters.Add(new NpgsqlParameter { Value = key });
            store.Parameters.Add(new NpgsqlParameter { Value = http.Response.StatusCode });
            store.Parameters.Add(new NpgsqlParameter { Value = (object?)http.Response.ContentType ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            var location = http.Response.Headers.Location.ToString();
            store.Parameters.Add(new NpgsqlParameter { Value = location.Length > 0 ? location : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            store.Parameters.Add(new NpgsqlParameter { Value = answer.ToArray() });
            await store.ExecuteNonQueryAsync(CancellationToken.None);
        }
        answer.Position = 0;
        await answer.CopyToAsync(original, http.RequestAborted);
    }

    private static async Task ReleaseAsync(NpgsqlDataSource db, Guid workspaceId, string key)
    {
        await using var release = db.CreateCommand("DELETE FROM idempotency_keys WHERE workspace_id = $1 AND key = $2 AND status_code IS NULL");
        release.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
        release.Parameters.Add(new NpgsqlParameter { Value = key });
        await release.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private static async Task<string> FingerprintAsync(HttpRequest request, bool hashesJsonBody)
    {
        var target = $"{request.Method} {request.PathBase}{request.Path}{request.QueryString}";
        if (!hashesJsonBody || request.HasJsonContentType() is false)
        {
            return target;
        }
        request.EnableBuffering();
        var hash = await SHA256.HashDataAsync(request.Body, request.HttpContext.RequestAborted);
        request.Body.Position = 0;
        return $"{target} body-sha256:{Convert.ToHexStringLower(hash)}";
    }

    private static string Describe(string fingerprint)
    {
        var body = fingerprint.IndexOf(" body-sha256:", StringComparison.Ordinal);
        return body < 0 ? fingerprint : fingerprint[..body] + " with another body";
    }
}
