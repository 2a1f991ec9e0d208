using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Bogus;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Features.Query;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Database;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace Ingestion.Bench;

/// <summary>
/// <c>query --items N [--runs R]</c>: loads N media items with 10 declared fields of mixed types (10·N values,
/// COPYed straight into the tables: loading is not what is measured), then times typical filters through the
/// product's own parser, planner and SQL: the first page of 100 and the total count, each beside the same
/// query with index scans and nested loops switched off (a sequential-scan baseline measured in the same run, so the
/// ratio holds even when other work loads the machine).
/// </summary>
public static partial class QueryBenchmark
{
    private static readonly (string Title, string Query)[] Queries =
    [
        ("one selective predicate", "humidity = 42.5"),
        ("three predicates with AND", "temperature > 30 AND lighting = \"Night\" AND camera STARTS WITH \"cam-front\""),
        ("OR of substrings", "caption CONTAINS \"harbor\" OR caption CONTAINS \"sunset\" OR camera CONTAINS \"roof\""),
        ("multi-enum HAS ANY", "colors HAS ANY (\"teal\", \"maroon\")"),
        ("datetime range (one week)", "taken_at BETWEEN \"2024-03-01T00:00:00Z\" AND \"2024-03-08T00:00:00Z\""),
        ("selective AND broad NOT", "humidity = 42.5 AND NOT lighting = \"Sunny\""),
    ];

    private static readonly string[] Lighting = ["Sunny", "Cloudy", "Night", "Rain", "Fog", "Snow"];
    private static readonly string[] Colors = ["red", "blue", "green", "black", "white", "yellow", "orange", "purple", "grey", "brown", "teal", "maroon"];
    private static readonly string[] Cameras = ["front", "rear", "left", "right", "roof", "dash"];
    private static readonly string[] Words =
    [
        "harbor", "sunset", "street", "car", "truck", "bicycle", "person", "dog", "tree", "building", "bridge", "river",
        "crowd", "night", "rain", "snow", "road", "sign", "light", "shadow", "boat", "train", "station", "market",
        "park", "bench", "window", "door", "field", "mountain", "beach", "wave", "cloud", "sky", "bird", "cat",
        "lamp", "tunnel", "parking", "crossing",
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var items = IntOption(args, "--items", 1_000_000);
        var runs = IntOption(args, "--runs", 5);
        var root = Path.Combine(Path.GetTempPath(), $"ingestion-query-bench-{Environment.ProcessId}");
        await using var server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { DataDirectory = Path.Combine(root, "pg"), Ephemeral = true });
        try
        {
            await using var db = new NpgsqlDataSourceBuilder(server.ConnectionString).Build();
            await new SchemaMigrator(db, NullLogger<SchemaMigrator>.Instance).StartAsync(CancellationToken.None);
            var (workspace, dataset) = await LoadAsync(db, items);
            await MeasureAsync(db, workspace, dataset, items, runs);
            return 0;
        }
        finally
        {
            await server.DisposeAsync();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }

    private static async Task<(Guid Workspace, Guid Dataset)> LoadAsync(NpgsqlDataSource db, int items)
    {
        var clock = Stopwatch.StartNew();
        var workspace = Guid.CreateVersion7();
        var dataset = Guid.CreateVersion7();
        await using var conn = await db.OpenConnectionAsync();
        await ExecAsync(conn, "INSERT INTO workspaces (workspace_id, name) VALUES ($1, $2)", workspace, $"bench-{workspace:N}");
        await ExecAsync(conn, "INSERT INTO datasets (dataset_id, workspace_id, name) VALUES ($1, $2, 'query bench')", dataset, workspace);

        var mediaIds = Enumerable.Range(0, items).Select(_ => Guid.CreateVersion7()).Order().ToArray();
        await using (var copy = await conn.BeginBinaryImportAsync(
            "COPY media_items (media_id, workspace_id, dataset_id, file_name, file_path, media_type) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < items; i++)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(mediaIds[i], NpgsqlDbType.Uuid);
                await copy.WriteAsync(workspace, NpgsqlDbType.Uuid);
                await copy.WriteAsync(dataset, NpgsqlDbType.Uuid);
                await copy.WriteAsync($"img_{i:D7}.jpg", NpgsqlDbType.Text);
                await copy.WriteAsync($"s3://bench/img_{i:D7}.jpg", NpgsqlDbType.Text);
                await copy.WriteAsync("image", NpgsqlDbType.Text);
            }
            await copy.CompleteAsync();
        }

        var random = new Randomizer(4242);
        var captions = Enumerable.Range(0, 20_000).Select(_ => string.Join(' ', Enumerable.Range(0, random.Int(4, 8)).Select(_ => random.ArrayElement(Words)))).ToArray();
        var epoch = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var scenes = Enumerable.Range(0, 20).Select(i => $"scene{i:D2}").ToArray();
        var fields = new (string Name, string Type, string[]? Options, bool IsMulti, string Column, NpgsqlDbType DbType, Func<int, object> Value)[]
        {
            ("temperature", "float", null, false, "value_float", NpgsqlDbType.Double, _ => random.Int(-200, 450) / 10.0),
            ("humidity", "float", null, false, "value_float", NpgsqlDbType.Double, _ => random.Int(0, 1000) / 10.0),
            ("taken_at", "datetime", null, false, "value_datetime", NpgsqlDbType.TimestampTz, _ => epoch.AddSeconds(random.Int(0, 365 * 86400))),
            ("reviewed_at", "datetime", null, false, "value_datetime", NpgsqlDbType.TimestampTz, _ => epoch.AddSeconds(random.Int(0, 365 * 86400))),
            ("camera", "string", null, false, "value_text", NpgsqlDbType.Text, _ => $"cam-{random.ArrayElement(Cameras)}-{random.Int(0, 49):D2}"),
            ("caption", "string", null, false, "value_text", NpgsqlDbType.Text, _ => random.ArrayElement(captions)),
            ("url", "link", null, false, "value_text", NpgsqlDbType.Text, i => $"https://cdn{random.Int(1, 4)}.example.com/bench/{i}.jpg"),
            ("lighting", "enum", Lighting, false, "value_text", NpgsqlDbType.Text, _ => random.ArrayElement(Lighting)),
            ("scene", "enum", scenes, false, "value_text", NpgsqlDbType.Text, _ => random.ArrayElement(scenes)),
            ("colors", "enum", Colors, true, "value_enums", NpgsqlDbType.Array | NpgsqlDbType.Smallint, _ => random.Shuffle(Colors).Take(random.Int(1, 3)).ToArray()),
        };
        // Each field is loaded as the service bulk-loads a field's first upload: COPY into its own table, then its
        // indexes are built and the table attached, by the service's own code.
        var definitions = new List<FieldDefinition>();
        foreach (var f in fields)
        {
            var fieldId = Guid.CreateVersion7();
            var taskId = Guid.CreateVersion7();
            await ExecAsync(conn, """
                INSERT INTO fields (field_id, workspace_id, dataset_id, field_name, field_type, enum_options, is_multi)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """, fieldId, workspace, dataset, f.Name, f.Type, (object?)f.Options ?? DBNull.Value, f.IsMulti);
            await ExecAsync(conn, "SELECT create_field_values_table($1)", fieldId);
            var definition = new FieldDefinition
            {
                FieldId = fieldId, DatasetId = dataset, Name = f.Name, Type = FieldDefinition.ParseType(f.Type)!.Value, IsMulti = f.IsMulti,
                EnumOptions = f.Options ?? [],
            };
            definitions.Add(definition);
            await using var copy = await conn.BeginBinaryImportAsync(
                $"COPY {FieldValueTables.TableName(fieldId)} (field_id, media_id, task_id, row_index, {f.Column}) FROM STDIN (FORMAT BINARY)");
            for (var i = 0; i < items; i++)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(fieldId, NpgsqlDbType.Uuid);
                await copy.WriteAsync(mediaIds[i], NpgsqlDbType.Uuid);
                await copy.WriteAsync(taskId, NpgsqlDbType.Uuid);
                await copy.WriteAsync((long)i, NpgsqlDbType.Bigint);
                // A selection goes in by option number, as the service stores it (migration 0018).
                var value = f.Value(i);
                await copy.WriteAsync(value is string[] selection ? Array.ConvertAll(selection, o => definition.OptionNumbers[o]) : value, f.DbType);
            }
            await copy.CompleteAsync();
        }
        Console.WriteLine($"Loaded {items:N0} media items and {items * fields.Length:N0} values in {clock.Elapsed.TotalSeconds:F0} s");
        clock.Restart();
        foreach (var definition in definitions)
        {
            await FieldValueTables.IndexAndAttachAsync(db, new IndexBuildConnections(db), definition, new IngestOptions().IndexBuilds, CancellationToken.None);
        }
        // VACUUM sets the visibility map, so index-only scans answer without visiting the heap, as on a settled table.
        await ExecAsync(conn, "VACUUM ANALYZE media_items");
        await ExecAsync(conn, "VACUUM ANALYZE field_values");
        Console.WriteLine($"Built the query indexes and analyzed in {clock.Elapsed.TotalSeconds:F0} s");
        return (workspace, dataset);
    }

    private static async Task MeasureAsync(NpgsqlDataSource db, Guid workspace, Guid dataset, int items, int runs)
    {
        await using var conn = await db.OpenConnectionAsync();
        var schema = (await MediaFilter.LoadDatasetAsync(conn, workspace, dataset, CancellationToken.None))!;
        Console.WriteLine();
        Console.WriteLine($"{items:N0} items, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, median of {runs} runs (indexed) / {Math.Max(1, runs / 2)} (baseline)");
        Console.WriteLine();
        Console.WriteLine("| query | matches | first page of 100 | seq-scan baseline | ratio | first page with metadata | total count | seq-scan baseline | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var plans = new List<string>();
        foreach (var (title, query) in Queries)
        {
            var plan = FilterPlanner.Plan(QueryTextParser.Parse(query), schema.Fields);
            long matches = 0;
            async Task<double> Page() => await FirstPageAsync(conn, workspace, dataset, plan, includeMetadata: null, adaptive: true);
            async Task<double> PageWithMetadata() => await FirstPageAsync(conn, workspace, dataset, plan, includeMetadata: schema, adaptive: true);
            // Without indexes a per-item walk would scan field_values once per item: the baseline keeps the joins.
            async Task<double> SequentialPage() => await FirstPageAsync(conn, workspace, dataset, plan, includeMetadata: null, adaptive: false);
            async Task<double> Count()
            {
                var clock = Stopwatch.StartNew();
                var parameters = new List<NpgsqlParameter>();
                await using var cmd = MediaFilter.CountCommand(conn, MediaFilter.Where(workspace, dataset, plan, parameters), parameters);
                matches = (long)(await cmd.ExecuteScalarAsync())!;
                return clock.Elapsed.TotalMilliseconds;
            }
            await SetSequentialAsync(conn, false);
            var page = await MedianAsync(Page, runs);
            var withMetadata = await MedianAsync(PageWithMetadata, runs);
            var count = await MedianAsync(Count, runs);
            plans.Add($"{title}: {query}\n{await ExplainAsync(conn, workspace, dataset, plan)}");
            await SetSequentialAsync(conn, true);
            var seqPage = await MedianAsync(SequentialPage, Math.Max(1, runs / 2));
            var seqCount = await MedianAsync(Count, Math.Max(1, runs / 2));
            await SetSequentialAsync(conn, false);
            Console.WriteLine($"| {title}: `{query}` | {matches:N0} | {page:F1} ms | {seqPage:F0} ms | {seqPage / page:F0}× | {withMetadata:F1} ms | {count:F1} ms | {seqCount:F0} ms | {seqCount / count:F1}× |");
        }
        Console.WriteLine();
        Console.WriteLine("Plans of the first page (indexed):");
        foreach (var p in plans)
        {
            Console.WriteLine();
            Console.WriteLine(p);
        }
    }

    /// <summary>
    /// One first page of 100, exactly as the search endpoint asks for it. The baseline compares it without
    /// metadata: gathering the metadata of 100 items is a lookup per item that has no sequential form worth timing.
    /// </summary>
    private static async Task<double> FirstPageAsync(NpgsqlConnection conn, Guid workspace, Guid dataset, FilterPlan plan, QueryableDataset? includeMetadata,
        bool adaptive)
    {
        var clock = Stopwatch.StartNew();
        var perItem = adaptive && await MediaFilter.PageWalksAsync(conn, workspace, dataset, plan, null, 101, CancellationToken.None);
        var parameters = new List<NpgsqlParameter>();
        await using var cmd = MediaFilter.PageCommand(conn, MediaFilter.Where(workspace, dataset, plan, parameters, perItem), parameters, null, 101, includeMetadata);
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
        }
        return clock.Elapsed.TotalMilliseconds;
    }

    private static async Task<string> ExplainAsync(NpgsqlConnection conn, Guid workspace, Guid dataset, FilterPlan plan)
    {
        var perItem = await MediaFilter.PageWalksAsync(conn, workspace, dataset, plan, null, 101, CancellationToken.None);
        var parameters = new List<NpgsqlParameter>();
        await using var page = MediaFilter.PageCommand(conn, MediaFilter.Where(workspace, dataset, plan, parameters, perItem), parameters, null, 101, includeMetadataOf: null);
        await using var cmd = new NpgsqlCommand((perItem ? "-- walked item by item\n" : "") + "EXPLAIN (COSTS OFF) " + page.CommandText, conn);
        cmd.Parameters.AddRange(page.Parameters.Select(p => p.Clone()).ToArray());
        var lines = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            lines.Add("    " + r.GetString(0));
        }
        return string.Join('\n', lines);
    }

    /// <summary>
    /// The baseline: no index, index-only or bitmap scans, and no nested loops either; without an index a nested
    /// loop would rescan field_values per item (minutes per query), so the baseline is the sane plan left:
    /// sequential scans with hash joins.
    /// </summary>
    private static async Task SetSequentialAsync(NpgsqlConnection conn, bool sequential)
    {
        var on = sequential ? "off" : "on";
        await ExecAsync(conn, $"SET enable_indexscan = {on}; SET enable_indexonlyscan = {on}; SET enable_bitmapscan = {on}; SET enable_nestloop = {on}");
    }

    /// <summary>One warm-up run, then the median of <paramref name="runs"/>.</summary>
    private static async Task<double> MedianAsync(Func<Task<double>> run, int runs)
    {
        await run();
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            times.Add(await run());
        }
        times.Sort();
        return times[times.Count / 2];
    }

    private static async Task ExecAsync(NpgsqlConnection conn, string sql, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }
        await cmd.ExecuteNonQueryAsync();
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
