using System.Text.Json;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Features.Query;

namespace Ingestion.Tests.Features.Query;

/// <summary>The text language and the JSON tree are two spellings of one filter: they must plan identically.</summary>
public sealed class FilterPlannerTests
{
    private static readonly FieldDefinition[] Fields =
    [
        Field("temperature", FieldType.Float),
        Field("lighting", FieldType.Enum, ["Sunny", "Cloudy"]),
        Field("camera", FieldType.String),
        Field("url", FieldType.Link),
        Field("reviewed_at", FieldType.Datetime),
        Field("colors", FieldType.Enum, ["red", "blue", "green"], isMulti: true),
        Field("quality", FieldType.Float),
    ];

    [Theory]
    [InlineData(
        "temperature > 20 AND lighting = \"Sunny\"",
        """{"and": [{"field": "temperature", "op": ">", "value": 20}, {"field": "lighting", "op": "=", "value": "Sunny"}]}""")]
    [InlineData(
        "(camera CONTAINS \"front\" OR camera = \"rear\") AND NOT reviewed_at BETWEEN \"2024-01-01T00:00:00Z\" AND \"2024-02-01T01:00:00+01:00\"",
        """{"and": [{"or": [{"field": "camera", "op": "contains", "value": "front"}, {"field": "Camera", "op": "=", "value": "rear"}]}, {"not": {"field": "reviewed_at", "op": "between", "value": ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"]}}]}""")]
    [InlineData(
        "colors HAS ANY (\"red\", \"blue\") AND url STARTS WITH \"https://cdn.\" AND quality EXISTS",
        """{"and": [{"field": "colors", "op": "has_any", "value": ["red", "blue"]}, {"and": [{"field": "url", "op": "STARTS WITH", "value": "https://cdn."}, {"field": "quality", "op": "exists"}]}]}""")]
    [InlineData(
        "lighting = \"Sunny\" OR lighting = \"Cloudy\" AND NOT temperature <= 1.5e1",
        """{"or": [{"field": "lighting", "op": "=", "value": "Sunny"}, {"and": [{"field": "lighting", "op": "=", "value": "Cloudy"}, {"not": {"field": "temperature", "op": "<=", "value": 15}}]}]}""")]
    public void Text_and_JSON_tree_parse_to_the_same_plan(string text, string json)
    {
        var fromText = FilterPlanner.Plan(QueryTextParser.Parse(text), Fields);
        var fromTree = FilterPlanner.Plan(FilterJsonParser.Parse(JsonDocument.Parse(json).RootElement), Fields);

        fromTree.ToString().ShouldBe(fromText.ToString());
    }

    [Fact]
    public void Different_filters_plan_differently()
    {
        var a = FilterPlanner.Plan(QueryTextParser.Parse("temperature > 20 AND quality EXISTS"), Fields);
        var b = FilterPlanner.Plan(QueryTextParser.Parse("temperature > 20 OR quality EXISTS"), Fields);

        a.ToString().ShouldNotBe(b.ToString());
    }

    private static FieldDefinition Field(string name, FieldType type, string[]? options = null, bool isMulti = false) => new()
    {
        FieldId = Guid.CreateVersion7(),
        DatasetId = Guid.Empty,
        Name = name,
        Type = type,
        IsMulti = isMulti,
        EnumOptions = options ?? [],
    };
}
