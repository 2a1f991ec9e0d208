using System.Security.Cryptography;
using System.Text;

namespace Ingestion.Api.Infrastructure.Auth;

public static class TokenSecrets
{
    /// <summary>A new secret: 256 random bits, URL-safe, with a prefix that secret scanners can match.</summary>
    public static string NewToken() => "ing_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
