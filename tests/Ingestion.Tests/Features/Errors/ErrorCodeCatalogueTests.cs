using System.Text.Json.Nodes;
using Ingestion.Api.Features.Validation;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Errors;

[Collection(SharedAppCollection.Name)]
public sealed class ErrorCodeCatalogueTests(SharedApp shared)
{
    private static string DocPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir.FullName, "Ingestion.sln")))
        {
            dir = dir.Parent ?? throw new InvalidOperationException("Ingestion.sln not found above the test binaries.");
        }
        return Path.Combine(dir.FullName, "docs", "error-codes.md");
    }

    /// <summary>Run with REGENERATE_DOCS=1 to write the file from the catalogue.</summary>
    [Fact]
    public void The_error_code_document_is_the_catalogue_it_is_generated_from()
    {
        var expected = RowErrorCodes.CatalogueDocument();
        if (Environment.GetEnvironmentVariable("REGENERATE_DOCS") == "1")
        {
            File.WriteAllText(DocPath(), expected);
        }

        var actual = File.Exists(DocPath()) ? File.ReadAllText(DocPath()) : "";

        actual.ShouldBe(expected, $"docs/error-codes.md is out of date. Regenerate it with REGENERATE_DOCS=1 dotnet test --filter ErrorCodeCatalogueTests, or paste:\n{expected}");
    }

    [Fact]
    public void Every_code_has_one_sentence_and_every_file_level_code_is_catalogued()
    {
        RowErrorCodes.Catalogue.ShouldAllBe(c => c.Key.Length > 0 && c.Value.EndsWith('.'));
        RowErrorCodes.FileLevel.ShouldBeSubsetOf(RowErrorCodes.Catalogue.Keys);
    }

    [Fact]
    public async Task The_OpenAPI_description_of_the_error_list_holds_the_catalogue_and_offers_json_and_csv()
    {
        var api = await shared.App.NewWorkspaceClientAsync();

        var openApi = await ApiClient.ReadAsync<JsonObject>(await api.Http.GetAsync("/openapi/v1.json"), System.Net.HttpStatusCode.OK);

        var list = openApi["paths"]!["/api/v1/datasets/{dataset_id}/custom_metadata/tasks/{task_id}/errors"]!["get"]!;
        list["responses"]!["200"]!["content"]!.AsObject().Select(c => c.Key).ShouldBe(["application/json", "text/csv"], ignoreOrder: true);
        var description = list["description"]!.GetValue<string>();
        foreach (var (code, sentence) in RowErrorCodes.Catalogue)
        {
            description.ShouldContain($"`{code}`");
            description.ShouldContain(sentence);
        }
    }
}
