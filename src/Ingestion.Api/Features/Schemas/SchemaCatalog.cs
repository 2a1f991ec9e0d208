using System.Reflection;
using System.Text.Json.Nodes;

namespace Ingestion.Api.Features.Schemas;

/// <summary>
/// The JSON Schemas of schemas/ (repo root), embedded in the service at build time so that the service runs the
/// very documents users read. Loaded and compiled once, at start-up; a broken document stops the start.
/// </summary>
public sealed class SchemaCatalog
{
    public required BodySchema FieldDeclaration { get; init; }
    public required BodySchema DatasetCreate { get; init; }

    /// <summary>The upload-row template the per-field row schemas are cut from; never handed out itself.</summary>
    public required JsonObject UploadRowTemplate { get; init; }

    public static async Task<SchemaCatalog> LoadAsync() => new()
    {
        FieldDeclaration = await BodySchema.FromJsonAsync(Read("field-declaration.schema.json")),
        DatasetCreate = await BodySchema.FromJsonAsync(Read("dataset-create.schema.json")),
        UploadRowTemplate = JsonNode.Parse(Read("upload-row.schema.json"))!.AsObject(),
    };

    /// <summary>The text of one document of schemas/, by file name.</summary>
    public static string Read(string fileName)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Schemas." + fileName)
            ?? throw new InvalidOperationException($"Schema {fileName} is not embedded; see the EmbeddedResource items of Ingestion.Api.csproj.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
