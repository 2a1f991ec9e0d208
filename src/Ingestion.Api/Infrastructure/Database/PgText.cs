namespace Ingestion.Api.Infrastructure.Database;

public static class PgText
{
    /// <summary>
    /// PostgreSQL text cannot hold U+0000. Text we only keep to show people (a rejected value, a media id as
    /// written) is stored with the NUL spelled out instead; values we store as data never contain one (the
    /// validator rejects them).
    /// </summary>
    public static string? Storable(string? s) => s is not null && s.Contains('\0') ? s.Replace("\0", "\\u0000") : s;
}
