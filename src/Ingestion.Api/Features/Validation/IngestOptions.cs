namespace Ingestion.Api.Features.Validation;

public sealed class IngestOptions
{
    public const string Section = "Ingestion:Ingest";

    /// <summary>Rows per checkpoint. Each checkpoint is one transaction and one progress update.</summary>
    public int BatchRows { get; set; } = 20_000;
}
