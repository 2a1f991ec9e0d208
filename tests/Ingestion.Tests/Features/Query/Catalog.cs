using Ingestion.Tests.Harness;

namespace Ingestion.Tests.Features.Query;

/// <summary>
/// A small dataset with one field of every type and hand-picked values, so each expected result can be read off
/// the table below. img4 has no values at all; others miss some fields on purpose.
/// </summary>
public sealed class Catalog
{
    public const int Items = 6;

    public required ApiClient Api { get; init; }
    public required Guid DatasetId { get; init; }
    public required IReadOnlyList<Guid> Ids { get; init; }

    public string NameOf(Guid id) => $"img{Ids.ToList().IndexOf(id)}";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Catalog? _built;

    /// <summary>Built once per test run (values are immutable, so tests can share it read-only).</summary>
    public static async Task<Catalog> GetAsync(SharedApp shared)
    {
        await Gate.WaitAsync();
        try
        {
            return _built ??= await BuildAsync(shared);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<Catalog> BuildAsync(SharedApp shared)
    {
        var api = await shared.App.NewWorkspaceClientAsync();
        var dataset = await api.CreateDatasetAsync("catalog");
        var ids = await api.RegisterMediaAsync(dataset, Enumerable.Range(0, Items).Select(i => $"img{i}.jpg"));
        object[] Rows(params (int Item, object Value)[] values) => values.Select(v => (object)new { media_id = ids[v.Item], value = v.Value }).ToArray();

        await Completed(api.IngestAsync(dataset, "temperature", "float", Rows((0, 25), (1, 15), (2, 20), (3, -3.5), (5, 20.5))));
        await Completed(api.IngestAsync(dataset, "lighting", "enum", Rows((0, "Sunny"), (1, "Cloudy"), (2, "Night"), (3, "Sunny")),
            options: ["Sunny", "Cloudy", "Night"]));
        await Completed(api.IngestAsync(dataset, "camera", "string", Rows((0, "Front-Left"), (1, "rear"), (2, "front"), (3, "side 100%_x"), (5, "REAR"))));
        await Completed(api.IngestAsync(dataset, "url", "link", Rows((0, "https://cdn.example.com/0.jpg"), (1, "http://origin.example.com/1.jpg"),
            (2, "https://cdn.example.com/2.jpg"))));
        await Completed(api.IngestAsync(dataset, "reviewed_at", "datetime", Rows((0, "2024-01-10T00:00:00Z"), (1, "2024-02-01T00:00:00Z"),
            (2, "2023-12-31T23:59:59Z"), (3, "2024-01-01T00:00:00+02:00"))));
        await Completed(api.IngestAsync(dataset, "colors", "enum", Rows((0, new[] { "red", "blue" }), (1, new[] { "blue" }),
            (2, new[] { "red", "green", "blue" }), (3, new[] { "green" }), (5, new[] { "blue", "red" })),
            options: ["red", "blue", "green"], isMulti: true));
        return new Catalog { Api = api, DatasetId = dataset, Ids = ids };
    }

    private static async Task Completed(Task<(Guid TaskId, System.Text.Json.Nodes.JsonObject Status)> ingest)
    {
        var (_, status) = await ingest;
        status["status"]!.GetValue<string>().ShouldBe("COMPLETED", status.ToJsonString());
    }
}
