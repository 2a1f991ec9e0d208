using System.Globalization;
using System.Text.Json.Nodes;
using Bogus;
using Ingestion.Api.Infrastructure.Database;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Features.Validation;

/// <summary>Each field type with valid and invalid values: valid rows are stored as typed values, each invalid row fails alone with its code.</summary>
[Collection(SharedAppCollection.Name)]
public sealed class FieldTypeValidationTests(SharedApp shared)
{
    private sealed record Case(object? Value, string? ExpectedCode, JsonNode? Stored = null, bool OmitValue = false);

    [Fact]
    public async Task String_values_up_to_4096_characters_are_stored_and_others_fail()
    {
        var faker = new Faker { Random = new Randomizer(101) };
        var valid = Enumerable.Range(0, 40).Select(_ => faker.Lorem.Sentence()).Append("").Append(new string('x', 4096))
            .Append("unicode ✓ 日本語 \"quoted\"").Select(s => new Case(s, null, JsonValue.Create(s)));
        var invalid = new[]
        {
            new Case(new string('y', 4097), "string_too_long"),
            new Case("nul\0inside", "string_has_nul"),
            new Case(12, "wrong_type"),
            new Case(true, "wrong_type"),
            new Case(new[] { "a" }, "wrong_type"),
            new Case(null, "missing_value"),
            new Case(null, "missing_value", OmitValue: true),
        };
        await AssertFieldAsync("string", valid.Concat(invalid).ToList());
    }

    [Fact]
    public async Task Float_values_accept_finite_numbers_and_numeric_strings()
    {
        var faker = new Faker { Random = new Randomizer(102) };
        var numbers = Enumerable.Range(0, 40).Select(_ => faker.Random.Double(-1e6, 1e6))
            .Select(d => new Case(d, null, JsonValue.Create(d)));
        var strings = new[] { "21.5", "-3", "1e3", " 7.25 " }
            .Select(s => new Case(s, null, JsonValue.Create(double.Parse(s, CultureInfo.InvariantCulture))));
        var invalid = new[]
        {
            new Case("abc", "float_invalid"),
            new Case("NaN", "float_not_finite"),
            new Case("Infinity", "float_not_finite"),
            new Case(JsonNode.Parse("1e400"), "float_not_finite"),
            new Case(true, "wrong_type"),
            new Case(new[] { 1 }, "wrong_type"),
            new Case(null, "missing_value"),
        };
        await AssertFieldAsync("float", numbers.Concat(strings).Concat(invalid).ToList());
    }

    [Fact]
    public async Task Datetime_values_need_an_explicit_offset_and_are_stored_as_utc()
    {
        var faker = new Faker { Random = new Randomizer(103) };
        var valid = Enumerable.Range(0, 30)
            .Select(_ => faker.Date.Between(new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc)))
            .Select(d => new DateTime(d.Ticks - d.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc))
            .Select(d => new Case(d.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), null, JsonValue.Create(d.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"))))
            .Append(new Case("2024-02-24T12:00:00+02:00", null, JsonValue.Create("2024-02-24T10:00:00Z")))
            .Append(new Case("2024-02-24T10:00:00.123456Z", null, JsonValue.Create("2024-02-24T10:00:00.123456Z")))
            // PostgreSQL keeps microseconds; what is finer is dropped toward its epoch, 2000-01-01, on either side of it.
            .Append(new Case("2024-02-24T10:00:00.1234567Z", null, JsonValue.Create("2024-02-24T10:00:00.123456Z")))
            .Append(new Case("1969-07-20T20:17:40.1234567Z", null, JsonValue.Create("1969-07-20T20:17:40.123457Z")))
            // The last tick of 9999 is .NET's DateTime.MaxValue, which Npgsql would send as infinity.
            .Append(new Case("9999-12-31T23:59:59.9999999Z", null, JsonValue.Create("9999-12-31T23:59:59.999999Z")))
            // And its first tick is DateTime.MinValue, which Npgsql would send as -infinity.
            .Append(new Case("0001-01-01T00:00:00Z", null, JsonValue.Create("0001-01-01T00:00:00Z")));
        var invalid = new[]
        {
            new Case("2024-02-24T10:00:00", "datetime_missing_offset"),
            new Case("2024-02-24", "datetime_invalid"),
            new Case("yesterday", "datetime_invalid"),
            new Case("2024-13-01T00:00:00Z", "datetime_invalid"),
            new Case(1708768800, "wrong_type"),
        };
        var dataset = await AssertFieldAsync("datetime", valid.Concat(invalid).ToList());

        await using var db = await TestDatabase.OpenConnectionAsync();
        (await db.ScalarAsync<long>("""
            SELECT count(*) FROM field_values v JOIN fields f ON f.field_id = v.field_id
            WHERE f.dataset_id = $1 AND NOT isfinite(v.value_datetime)
            """, CancellationToken.None, dataset)).ShouldBe(0);
    }

    [Fact]
    public async Task A_datetime_stored_as_infinity_reads_back_as_infinity_in_the_item_and_the_export()
    {
        // Before validation kept PostgreSQL's precision, 9999-12-31T23:59:59.9999999Z went through Npgsql as infinity.
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, ["a.jpg", "b.jpg"]);
        await api.IngestAsync(dataset, "taken_at", "datetime", [new { media_id = media[0], value = "2024-02-24T10:00:00Z" }]);
        await using var db = await TestDatabase.OpenConnectionAsync();
        var fieldId = await db.ScalarAsync<Guid>("SELECT field_id FROM fields WHERE dataset_id = $1", CancellationToken.None, dataset);
        await db.ExecuteAsync($"INSERT INTO field_values_{fieldId:N} (media_id, task_id, row_index, value_datetime) VALUES ($1, $2, 1, 'infinity')",
            CancellationToken.None, media[1], Guid.NewGuid());

        (await api.MediaValuesAsync(dataset, media[1])).Single()!["value"]!.GetValue<string>().ShouldBe("infinity");
        var export = JsonNode.Parse(await api.Http.GetStringAsync($"/api/v1/datasets/{dataset}/export"))!;
        export["media_items"]!.AsArray().Select(m => m!["metadata_items"]?[0]?["properties"]?["value"]?.GetValue<string>())
            .ShouldBe(["2024-02-24T10:00:00Z", "infinity"], ignoreOrder: true);
    }

    [Fact]
    public async Task Single_enum_values_must_match_an_option_exactly()
    {
        string[] options = ["Sunny", "Cloudy", "Rain"];
        var faker = new Faker { Random = new Randomizer(104) };
        var valid = Enumerable.Range(0, 30).Select(_ => faker.PickRandom(options)).Select(o => new Case(o, null, JsonValue.Create(o)));
        var invalid = new[]
        {
            new Case("sunny", "enum_not_an_option"),
            new Case("Snow", "enum_not_an_option"),
            new Case(new[] { "Sunny" }, "wrong_type"),
            new Case(3, "wrong_type"),
        };
        await AssertFieldAsync("enum", valid.Concat(invalid).ToList(), options);
    }

    [Fact]
    public async Task Multi_enum_values_are_non_empty_arrays_of_distinct_options()
    {
        string[] options = ["red", "green", "blue", "black"];
        var faker = new Faker { Random = new Randomizer(105) };
        var valid = Enumerable.Range(0, 30)
            .Select(_ => faker.PickRandom(options, faker.Random.Int(1, options.Length)).ToArray())
            .Select(o => new Case(o, null, new JsonArray(o.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray())));
        var invalid = new[]
        {
            new Case(Array.Empty<string>(), "enum_empty_selection"),
            new Case(new[] { "red", "red" }, "enum_repeated_option"),
            new Case(new[] { "red", "purple" }, "enum_not_an_option"),
            new Case(new object[] { "red", 1 }, "wrong_type"),
            new Case("red", "wrong_type"),
        };
        await AssertFieldAsync("enum", valid.Concat(invalid).ToList(), options, isMulti: true);
    }

    [Fact]
    public async Task Link_values_are_absolute_http_or_https_urls()
    {
        var faker = new Faker { Random = new Randomizer(106) };
        var valid = Enumerable.Range(0, 30).Select(_ => faker.Internet.UrlWithPath(faker.PickRandom("http", "https")))
            .Append("https://cdn.example.com/" + new string('a', 2000))
            .Select(u => new Case(u, null, JsonValue.Create(u)));
        var invalid = new[]
        {
            new Case("ftp://example.com/a.jpg", "link_invalid"),
            new Case("/relative/path.jpg", "link_invalid"),
            new Case("not a url", "link_invalid"),
            new Case("https://example.com/" + new string('a', 2040), "link_too_long"),
            new Case(5, "wrong_type"),
        };
        await AssertFieldAsync("link", valid.Concat(invalid).ToList());
    }

    /// <summary>Uploads one row per case into a new dataset's field of <paramref name="type"/>, checks each, and returns the dataset.</summary>
    private async Task<Guid> AssertFieldAsync(string type, IReadOnlyList<Case> cases, string[]? options = null, bool? isMulti = null)
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync();
        var media = await api.RegisterMediaAsync(dataset, cases.Select((_, i) => $"item-{i}.jpg"));
        var rows = cases.Select((c, i) => c.OmitValue ? (object)new { media_id = media[i] } : new { media_id = media[i], value = c.Value }).ToList();

        var (taskId, status) = await api.IngestAsync(dataset, $"f_{type}", type, rows, options, isMulti);

        var invalid = cases.Count(c => c.ExpectedCode is not null);
        status["status"]!.GetValue<string>().ShouldBe(invalid > 0 ? "COMPLETED_WITH_ERRORS" : "COMPLETED");
        status["inserted_rows"]!.GetValue<long>().ShouldBe(cases.Count - invalid);
        status["error_count"]!.GetValue<long>().ShouldBe(invalid);
        status["progress"]!.GetValue<double>().ShouldBe(100.0);

        var errors = status["sample_errors"]!.AsArray().ToDictionary(e => e!["row_index"]!.GetValue<long>());
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var values = await api.MediaValuesAsync(dataset, media[i]);
            if (c.ExpectedCode is null)
            {
                errors.ContainsKey(i).ShouldBeFalse($"row {i} ({c.Value}) should be valid: {errors.GetValueOrDefault(i)?.ToJsonString()}");
                var stored = values.Single()!;
                stored["field_type"]!.GetValue<string>().ShouldBe(type);
                if (type == "float")
                {
                    stored["value"]!.GetValue<double>().ShouldBe(c.Stored!.GetValue<double>(), 1e-9);
                }
                else
                {
                    stored["value"]!.ToJsonString().ShouldBe(c.Stored!.ToJsonString());
                }
            }
            else
            {
                values.ShouldBeEmpty();
                var error = errors[i]!;
                error["error_code"]!.GetValue<string>().ShouldBe(c.ExpectedCode, $"row {i} ({c.Value})");
                error["media_id"]!.GetValue<string>().ShouldBe(media[i].ToString());
                error["reason"]!.GetValue<string>().Length.ShouldBeGreaterThan(20);
            }
        }
        return dataset;
    }
}
