namespace Ingestion.Api.Features.Validation;

public sealed class IngestOptions
{
    public const string Section = "Ingestion:Ingest";

    /// <summary>The most rows per checkpoint (fewer when the database is slow). Each checkpoint is one transaction and one progress update.</summary>
    public int BatchRows { get; set; } = 20_000;
}
