namespace Ingestion.Api.Infrastructure.Auth;

/// <summary>What a token may do. <see cref="Admin"/> includes the others.</summary>
public static class Scopes
{
    public const string Read = "metadata:read";
    public const string Write = "metadata:write";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Read, Write, Admin];
}
