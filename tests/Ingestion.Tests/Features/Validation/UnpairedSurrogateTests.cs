using System.Text.Json.Nodes;
using Ingestion.Api.Features.Validation;
using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Validation;

/// <summary>
/// JSON may escape half of a UTF-16 surrogate pair alone ("\ud800"): valid JSON, but no character, and no text
/// PostgreSQL can store. Such a row once failed its whole task with no error shown (found by sending random files);
/// it must fail alone, with the other rows stored.
/// </summary>
[Collection(SharedAppCollection.Name)]
public sealed class UnpairedSurrogateTests(SharedApp shared)
{
    [Theory]
    [InlineData("values.json", true)]
    [InlineData("values.ndjson", true)]
    [InlineData("values.json", false)]
    public async Task A_string_escaping_half_a_surrogate_pair_fails_its_row_alone_and_a_whole_pair_is_stored(string fileName, bool firstUpload)
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]);
        var task = await api.DeclareFieldAsync(dataset, "note", "string");
        if (!firstUpload)
        {
            // A follow-up upload checks rows against the field's indexed table, not a bulk load's ledger.
            await api.UploadAndWaitAsync(dataset, api.UploadRowsAsync(dataset, task, [new { media_id = media[4], value = "earlier" }]));
            task = await api.FollowUpTaskAsync(dataset, "note");
        }
        string[] rows =
        [
            $$"""{"media_id": "{{media[0]}}", "value": "smile \ud83d\ude00"}""",
            $$"""{"media_id": "{{media[1]}}", "value": "half \ud800 of a pair"}""",
            $$"""{"media_id": "{{media[2]}}", "value": "the low half \udc00"}""",
            $$"""{"media_id": "{{media[3]}}\ud800", "value": "x"}""",
            """{"file_name": "d\udfff.jpg", "value": "x"}""",
            $$"""{"media_id": "{{media[3]}}", "value": "fine"}""",
        ];
        var file = fileName.EndsWith(".json") ? "[" + string.Join(",\n", rows) + "]" : string.Join("\n", rows);

        var status = await api.UploadAndWaitAsync(dataset, api.UploadAsync(dataset, task, file, fileName));

        status["status"]!.GetValue<string>().ShouldBe("COMPLETED_WITH_ERRORS");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(2);
        status["error_count"]!.GetValue<long>().ShouldBe(4);
        var errors = (await api.ErrorsAsync(dataset, task))["errors"]!.AsArray();
        errors.Select(e => e!["row_index"]!.GetValue<long>()).ShouldBe([1, 2, 3, 4]);
        errors.ShouldAllBe(e => e!["error_code"]!.GetValue<string>() == RowErrorCodes.UnpairedSurrogate);
        errors.Select(e => e!["reason"]!.GetValue<string>().Split(' ')[2]).ShouldBe(["value", "value", "media_id", "file_name"]);
        // The value is shown as written, escape and all.
        errors[0]!["value"]!.GetValue<string>().ShouldBe(@"half \ud800 of a pair");
        (await api.MediaValuesAsync(dataset, media[0])).Single()!["value"]!.GetValue<string>().ShouldBe("smile 😀");
        (await api.MediaValuesAsync(dataset, media[3])).Single()!["value"]!.GetValue<string>().ShouldBe("fine");
    }
}
