using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Features.Schemas;
using Ingestion.Api.Features.Validation;
using NJsonSchema;
using Xunit.Abstractions;

namespace Ingestion.Tests.Features.Schemas;

/// <summary>
/// The row schema a field serves and the service's own row validator must agree on every row: a user who checks a
/// file with the schema learns exactly which rows the upload will refuse. No HTTP: the schema comes from the same
/// generator the endpoint uses, the verdict from the same parser and validator the ingest job runs.
/// </summary>
public sealed class RowSchemaAgreementTests(ITestOutputHelper output)
{
    private const int RowsPerField = 5000;

    public static TheoryData<string> Kinds => ["string", "float", "datetime", "enum", "enum_multi", "link"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_row_schema_and_the_validator_give_every_generated_row_the_same_verdict(string kind)
    {
        var field = Field(kind);
        var schema = await JsonSchema.FromJsonAsync(RowSchemas.ForField(Template(), field).ToJsonString());
        var rows = new RowCorpus(seed: 20240224 + kind.Length).Rows(kind, RowsPerField).ToList();

        var disagreements = new List<string>();
        int valid = 0, invalid = 0, gaps = 0;
        foreach (var row in rows)
        {
            var error = ValidatorError(field, row.Json);
            if (row.KnownGap)
            {
                // Beyond the double range: the schema cannot say; the service must still refuse.
                gaps++;
                error.ShouldNotBeNull(row.Json);
                continue;
            }
            var schemaAccepts = schema.Validate(row.Json).Count == 0;
            if (schemaAccepts != (error is null))
            {
                disagreements.Add($"{Shown(row.Json)}: schema {(schemaAccepts ? "accepts" : "refuses")}, validator {error?.Code ?? "accepts"}");
            }
            if (error is null)
            {
                valid++;
            }
            else
            {
                invalid++;
            }
        }

        output.WriteLine($"{kind}: {valid + invalid} rows compared ({valid} valid, {invalid} invalid), {disagreements.Count} disagreements; " +
                         $"{gaps} rows beyond the double range refused by the validator");
        disagreements.Distinct().Take(25).ShouldBeEmpty();
        // A corpus that is all one verdict would prove nothing.
        valid.ShouldBeGreaterThan(RowsPerField / 5);
        invalid.ShouldBeGreaterThan(RowsPerField / 5);
    }

    private static JsonObject Template() => JsonNode.Parse(SchemaCatalog.Read("upload-row.schema.json"))!.AsObject();

    private static FieldDefinition Field(string kind) => new()
    {
        FieldId = Guid.NewGuid(),
        DatasetId = Guid.NewGuid(),
        Name = kind,
        Type = FieldDefinition.ParseType(kind == "enum_multi" ? "enum" : kind)!.Value,
        IsMulti = kind == "enum_multi",
        EnumOptions = kind.StartsWith("enum", StringComparison.Ordinal) ? RowCorpus.Options : [],
    };

    /// <summary>What the ingest job decides about one row: parser, media reference check, value check.</summary>
    private static RowError? ValidatorError(FieldDefinition field, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes);
        reader.Read();
        var row = new UploadRow();
        row.Reset(0);
        JsonRowParser.Parse(ref reader, bytes, row);
        return ValueValidator.CheckShape(row) ?? ValueValidator.Validate(field, row, out _);
    }

    private static string Shown(string json) => json.Length <= 160 ? json : json[..150] + $"… ({json.Length} chars)";
}
