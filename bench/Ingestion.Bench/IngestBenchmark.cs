using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Database;
using Npgsql;
using NpgsqlTypes;

namespace Ingestion.Bench;

/// <summary>
/// End to end: its own PostgreSQL, the service as a separate process, files on disk uploaded over HTTP, status
/// polled as a client would. Every figure is set against baselines measured in the same run on the same server
/// (psql \copy of the same rows as CSV; one prepared INSERT per row), because the machine is shared and noisy.
/// </summary>
public static class IngestBenchmark
{
    private const string Token = "bench-bootstrap-admin-token";
    private const int Seed = 20261122;

    // Later: each measured upload is a field's second, after one of the file's first EarlierRows rows.
    private sealed record Options(long Rows, int Repeat, BenchType[] Types, bool Baselines, long RowByRowSample, bool Keep, bool Later, bool Settle)
    {
        public static Options Parse(string[] args)
        {
            var o = new Options(1_000_000, 5, [BenchType.Float, BenchType.Enum], true, 100_000, false, false, true);
            for (var i = 0; i < args.Length; i++)
            {
                var value = i + 1 < args.Length ? args[i + 1] : "";
                o = args[i] switch
                {
                    "--rows" => o with { Rows = Count(args[i], value) },
                    "--repeat" => o with { Repeat = (int)Count(args[i], value) },
                    "--types" => o with { Types = value.Split(',').Select(Type).ToArray() },
                    "--baselines" => o with { Baselines = value != "off" },
                    "--row-by-row-sample" => o with { RowByRowSample = Count(args[i], value) },
                    "--keep" => o with { Keep = true },
                    "--later" => o with { Later = true },
                    "--settle" => o with { Settle = value != "off" },
                    _ => throw new ArgumentException($"Unknown option {args[i]}."),
                };
                if (args[i] is not ("--keep" or "--later"))
                {
                    i++;
                }
            }
            return o;
        }

        private static BenchType Type(string name) => Enum.TryParse<BenchType>(name, ignoreCase: true, out var type) && Enum.IsDefined(type)
            ? type
            : throw new ArgumentException($"--types takes {string.Join(" or ", Enum.GetNames<BenchType>()).ToLowerInvariant()}, comma-separated, not '{name}'.");

        private static long Count(string option, string value) =>
            long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= int.MaxValue
                ? n
                : throw new ArgumentException($"{option} takes a whole number above 0, not '{value}'.");
    }

    private sealed record IngestRun(BenchType Type, long Rows, double Seconds, double ServerSeconds, double UploadSeconds,
        double MaxProgressGap, string GapWhere, List<double> StatusMs, List<double> ReadMs, long PeakRssDuring,
        double ServiceCpuSeconds, double DatabaseCpuSeconds, long DatabaseMinorFaults);

    // CopySeconds: psql \copy alone; IndexSeconds: then the indexes the service builds for the type, built as it builds them.
    // RowByRowRate: into a plain table; IndexedRowByRowRate: into the \copy baseline's table with its indexes.
    private sealed record Baseline(BenchType Type, double CopySeconds, double IndexSeconds, long CopyRows, double RowByRowRate, double IndexedRowByRowRate);

    public static async Task<int> RunAsync(string[] args)
    {
        var o = Options.Parse(args);
        var root = Path.Combine(Path.GetTempPath(), $"ingestion-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        Console.WriteLine($"# ingest benchmark: {o.Rows:N0} rows, repeat {o.Repeat}, types {string.Join(",", o.Types)}; " + (o.Later
            ? $"every upload measured is a field's second, after one of the file's first {EarlierRows:N0} rows"
            : "every field's query index is built as part of its first upload") +
            (o.Settle ? "; a CHECKPOINT before each subject" : "; subjects back to back, no CHECKPOINT between them"));
        Console.WriteLine($"machine: {Machine()}; work folder {root}");
        try
        {
            await using var pg = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { DataDirectory = Path.Combine(root, "pg") });
            await using var service = await ServiceProcess.StartAsync(pg.ConnectionString, Token, Path.Combine(root, "service.log"));
            var (idle, _) = service.Memory();
            var postmaster = int.Parse(File.ReadLines(Path.Combine(root, "pg", "postmaster.pid")).First());
            Console.WriteLine($"service pid {service.Pid} at {service.BaseAddress}, idle RSS {Mb(idle)}");
            // No command timeout: setting up ten million items is one long COPY.
            await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(pg.ConnectionString) { CommandTimeout = 0 }.ConnectionString);
            // PostgreSQL alone builds its indexes on connections of their own too, as the service does (the same setting).
            await using var builds = new IndexBuildConnections(db, pg.ConnectionString,
                int.TryParse(Environment.GetEnvironmentVariable("Ingestion__Database__IndexBuildConnections"), out var n) ? n : new DatabaseOptions().IndexBuildConnections);
            using var http = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromHours(2) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

            var created = await http.PostAsJsonAsync("/api/v1/datasets", new { name = "bench" });
            var datasetId = (await created.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>())!["dataset_id"]!.GetValue<Guid>();
            var sw = Stopwatch.StartNew();
            await RegisterMediaAsync(db, datasetId, o.Rows);
            Console.WriteLine($"registered {o.Rows:N0} media items in {sw.Elapsed.TotalSeconds:F1}s (COPY, setup only)");

            var files = new Dictionary<BenchType, GeneratedFile>();
            foreach (var type in o.Types)
            {
                sw.Restart();
                files[type] = BenchFiles.Write(root, type, o.Rows, Seed + (int)type);
                Console.WriteLine($"generated {type} file: {Mb(files[type].Bytes)}, {files[type].InvalidRows:N0} invalid rows, in {sw.Elapsed.TotalSeconds:F1}s");
            }

            var runs = new List<IngestRun>();
            var baselines = new List<Baseline>();
            var field = 0;
            for (var r = 0; r < o.Repeat; r++)
            {
                foreach (var type in o.Types)
                {
                    // Baseline and service alternate, so both see the same moment of a noisy machine.
                    if (o.Baselines)
                    {
                        await SettleAsync(db, o);
                        var (copy, index) = await CopyBaselineAsync(pg, db, builds, type, files[type]);
                        var sample = Math.Min(o.RowByRowSample, o.Rows);
                        await SettleAsync(db, o);
                        var indexedRowByRow = await IndexedRowByRowBaselineAsync(db, type, sample, o.Rows);
                        await SettleAsync(db, o);
                        var rowByRow = await RowByRowBaselineAsync(db, type, sample);
                        baselines.Add(new Baseline(type, copy, index, files[type].ValidRows, rowByRow, indexedRowByRow));
                        Console.WriteLine($"  {type} baselines: psql \\copy {files[type].ValidRows / copy:N0} rows/s, " +
                            $"\\copy + the field's indexes {files[type].ValidRows / (copy + index):N0} rows/s ({copy:F2} + {index:F2} s), " +
                            $"row-by-row {rowByRow:N0} rows/s into a plain table, {indexedRowByRow:N0} rows/s into the indexed one");
                    }
                    await SettleAsync(db, o);
                    var run = await IngestAsync(http, service, postmaster, datasetId, type, files[type], $"{type}_{field++}", o.Later);
                    runs.Add(run);
                    Console.WriteLine($"  {type} ingest: {run.Seconds:F2}s = {run.Rows / run.Seconds:N0} rows/s " +
                        $"(server {run.ServerSeconds:F2}s, upload {run.UploadSeconds:F2}s), longest progress gap {run.MaxProgressGap:F2}s ({run.GapWhere}), " +
                        $"status {Percentiles(run.StatusMs)}, read {Percentiles(run.ReadMs)}, RSS peak so far {Mb(run.PeakRssDuring)}, " +
                        $"CPU service {run.ServiceCpuSeconds:F2}s + PostgreSQL {run.DatabaseCpuSeconds:F2}s ({run.DatabaseMinorFaults:N0} page faults)");
                }
            }
            var (_, peak) = service.Memory();
            Report(o, runs, baselines, idle, peak);
            Console.WriteLine();
            Console.WriteLine("profile (the runner's Debug phase timings, one line per task, in run order):");
            // The runner logs its phases just after the final status commits, which the last poll may have beaten.
            var log = Path.Combine(root, "service.log");
            List<string> ProfileLines() => File.ReadLines(log).Where(l => l.Contains("phases", StringComparison.Ordinal)).ToList();
            for (var wait = 0; wait < 50 && ProfileLines().Count < runs.Count; wait++)
            {
                await Task.Delay(100);
            }
            foreach (var line in ProfileLines())
            {
                Console.WriteLine("  " + line.Trim());
            }
            return 0;
        }
        finally
        {
            if (!o.Keep)
            {
                NpgsqlConnection.ClearAllPools();
                TryDelete(root);
            }
        }
    }

    private static async Task RegisterMediaAsync(NpgsqlDataSource db, Guid datasetId, long rows)
    {
        await using var conn = await db.OpenConnectionAsync();
        await using var ws = new NpgsqlCommand("SELECT workspace_id FROM datasets WHERE dataset_id = $1", conn) { Parameters = { new() { Value = datasetId } } };
        var workspaceId = (Guid)(await ws.ExecuteScalarAsync())!;
        // Setup, not measured: the keys of media_items are built once after the copy (as 0001_core.sql declares
        // them) instead of row by row, which for ten million items saves minutes.
        await using (var drop = new NpgsqlCommand("""
            ALTER TABLE media_items DROP CONSTRAINT media_items_pkey, DROP CONSTRAINT media_items_file_name_unique;
            DROP INDEX media_items_dataset_order;
            """, conn))
        {
            await drop.ExecuteNonQueryAsync();
        }
        await using (var w = await conn.BeginBinaryImportAsync(
            "COPY media_items (media_id, workspace_id, dataset_id, file_name, media_type) FROM STDIN (FORMAT BINARY)"))
        {
            for (long i = 0; i < rows; i++)
            {
                w.StartRow();
                w.Write(BenchFiles.MediaId(i), NpgsqlDbType.Uuid);
                w.Write(workspaceId, NpgsqlDbType.Uuid);
                w.Write(datasetId, NpgsqlDbType.Uuid);
                w.Write($"img-{i:D8}.jpg", NpgsqlDbType.Text);
                w.Write("image", NpgsqlDbType.Text);
            }
            await w.CompleteAsync();
        }
        await using var keys = new NpgsqlCommand("""
            ALTER TABLE media_items ADD CONSTRAINT media_items_pkey PRIMARY KEY (media_id),
                ADD CONSTRAINT media_items_file_name_unique UNIQUE (dataset_id, file_name);
            CREATE INDEX media_items_dataset_order ON media_items (dataset_id, media_id);
            """, conn);
        await keys.ExecuteNonQueryAsync();
        // Registered items settle before anything is uploaded for them, as autovacuum would settle them a minute after
        // a registration this size: otherwise the first task's reads of them set every row's hint bits, and autovacuum
        // starts on them in the middle of the first measured run.
        await using var settle = new NpgsqlCommand("VACUUM (ANALYZE) media_items", conn);
        settle.CommandTimeout = 0;
        await settle.ExecuteNonQueryAsync();
    }

    /// <summary>With --later, how many of the file's first rows its field takes before the upload measured.</summary>
    private const int EarlierRows = 1_000;

    private static async Task<IngestRun> IngestAsync(HttpClient http, ServiceProcess service, int postmaster, Guid datasetId, BenchType type,
        GeneratedFile file, string fieldName, bool later)
    {
        var declared = await http.PostAsJsonAsync($"/api/v1/datasets/{datasetId}/custom_metadata/tasks", type == BenchType.Float
            ? new { field_name = fieldName, field_type = "float", enum_options = (string[]?)null, is_multi = (bool?)null }
            : new { field_name = fieldName, field_type = "enum", enum_options = (string[]?)BenchFiles.Options, is_multi = (bool?)true });
        var taskId = (await declared.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>())!["task_id"]!.GetValue<Guid>();
        var taskPath = $"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}";
        // With --later, the field first stores the file's first rows; the file then refuses those rows' items as already
        // set (every other row it stores names an item of its own), and goes through the field's values, not a new table.
        long earlier = 0;
        if (later)
        {
            var first = new StringContent(BenchFiles.FirstRows(file.JsonPath, EarlierRows), System.Text.Encoding.UTF8, "application/json");
            (await http.PostAsync(taskPath, first)).EnsureSuccessStatusCode();
            JsonObject firstStatus;
            do
            {
                await Task.Delay(50);
                firstStatus = (await http.GetFromJsonAsync<JsonObject>(taskPath + "/status"))!;
            }
            while (firstStatus["status"]!.GetValue<string>() is "QUEUED" or "IN_PROGRESS");
            earlier = firstStatus["inserted_rows"]!.GetValue<long>();
            var followUp = await http.PostAsync($"/api/v1/datasets/{datasetId}/custom_metadata/fields/{fieldName}/tasks", null);
            taskId = (await followUp.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>())!["task_id"]!.GetValue<Guid>();
            taskPath = $"/api/v1/datasets/{datasetId}/custom_metadata/tasks/{taskId}";
        }

        var upload = Stopwatch.StartNew();
        await using (var body = new FileStream(file.JsonPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
        {
            var content = new StreamContent(body, 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var accepted = await http.PostAsync(taskPath, content);
            if (accepted.StatusCode != HttpStatusCode.Accepted)
            {
                throw new InvalidOperationException($"Upload answered {accepted.StatusCode}: {await accepted.Content.ReadAsStringAsync()}");
            }
        }
        var uploadSeconds = upload.Elapsed.TotalSeconds;

        // From here: accepted → finished, as the user sees it through the status endpoint.
        var clock = Stopwatch.StartNew();
        var serviceCpu = ProcessCpu.Seconds(service.Pid);
        var (databaseCpu, databaseFaults) = ProcessCpu.Tree(postmaster);
        using var stop = new CancellationTokenSource();
        var readMs = new List<double>();
        var reads = ReadWhileIngestingAsync(http, datasetId, file.Rows, readMs, stop.Token);
        var statusMs = new List<double>();
        long peakRss = 0;
        double lastProgress = -1, lastChange = 0, maxGap = 0;
        var gapWhere = "";
        JsonObject status;
        while (true)
        {
            var t = Stopwatch.GetTimestamp();
            status = (await http.GetFromJsonAsync<JsonObject>(taskPath + "/status"))!;
            statusMs.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            peakRss = Math.Max(peakRss, service.Memory().Rss);
            var now = clock.Elapsed.TotalSeconds;
            // Progress as the user sees it: the percentage, which follows the rows and then the index builds at the end.
            var progress = status["progress"]!.GetValue<double>();
            var state = status["status"]!.GetValue<string>();
            var finished = state is "COMPLETED" or "COMPLETED_WITH_ERRORS" or "FAILED";
            if (progress != lastProgress || finished)
            {
                if (now - lastChange > maxGap)
                {
                    maxGap = now - lastChange;
                    gapWhere = $"{Math.Max(lastProgress, 0):F1}% at {lastChange:F2}s to {(finished ? 100 : progress):F1}% at {now:F2}s";
                }
                lastChange = now;
                lastProgress = progress;
            }
            if (finished)
            {
                break;
            }
            await Task.Delay(50);
        }
        var seconds = clock.Elapsed.TotalSeconds;
        serviceCpu = ProcessCpu.Seconds(service.Pid) - serviceCpu;
        var (databaseCpuAfter, databaseFaultsAfter) = ProcessCpu.Tree(postmaster);
        (databaseCpu, databaseFaults) = (databaseCpuAfter - databaseCpu, databaseFaultsAfter - databaseFaults);
        await stop.CancelAsync();
        await reads;

        var inserted = status["inserted_rows"]!.GetValue<long>();
        var errors = status["error_count"]!.GetValue<long>();
        if (inserted != file.ValidRows - earlier || errors != file.InvalidRows + earlier)
        {
            throw new InvalidOperationException(
                $"Wrong result for {fieldName}: {inserted:N0} inserted and {errors:N0} errors, expected {file.ValidRows - earlier:N0} and " +
                $"{file.InvalidRows + earlier:N0}. {status.ToJsonString()}");
        }
        var server = (status["completed_at"]!.GetValue<DateTime>() - status["queued_at"]!.GetValue<DateTime>()).TotalSeconds;
        return new IngestRun(type, file.Rows, seconds, server, uploadSeconds, maxGap, gapWhere, statusMs, readMs, peakRss,
            serviceCpu, databaseCpu, databaseFaults);
    }

    /// <summary>A search-like read (one item's values) every 100 ms while the ingestion runs, to show reads are not starved.</summary>
    private static async Task ReadWhileIngestingAsync(HttpClient http, Guid datasetId, long rows, List<double> latencies, CancellationToken ct)
    {
        var random = new Random(Seed);
        while (!ct.IsCancellationRequested)
        {
            var t = Stopwatch.GetTimestamp();
            using (var response = await http.GetAsync($"/api/v1/datasets/{datasetId}/image/{BenchFiles.MediaId(random.NextInt64(rows))}/custom_metadata", CancellationToken.None))
            {
                response.EnsureSuccessStatusCode();
            }
            latencies.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            try
            {
                await Task.Delay(100, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // The baseline table is named as a field's table would be, for a field id no field has, so the service's own
    // create_field_values_index builds the same indexes on it; its rows default to that field, as a field's rows do.
    private static readonly Guid BaselineFieldId = new("00000000-0000-4000-8000-000000000001");

    private static readonly string BaselineTableColumns = $"""
        field_id uuid NOT NULL DEFAULT '{BaselineFieldId}',
        media_id uuid NOT NULL,
        task_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000004',
        row_index bigint NOT NULL,
        value_text text,
        value_float double precision,
        value_datetime timestamptz,
        value_enums smallint[]
        """;

    /// <summary>
    /// psql \copy of the file's valid rows, as CSV, into a plain table of field_values' columns (no key, no index), timed
    /// from outside psql; then the indexes the service builds at the end of a field's first upload (the key and the
    /// type's query index, at once, with the service's default memory), so the two together are what PostgreSQL alone
    /// takes to hold the same rows searchable, without checking one of them.
    /// </summary>
    private static async Task<(double Copy, double Index)> CopyBaselineAsync(EmbeddedPostgres pg, NpgsqlDataSource db, IndexBuildConnections builds, BenchType type, GeneratedFile file)
    {
        var table = FieldValueTables.TableName(BaselineFieldId);
        await PsqlAsync(pg, $"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({BaselineTableColumns});");
        var sw = Stopwatch.StartNew();
        await PsqlAsync(pg, $"\\copy {table} (media_id, row_index, value_float, value_enums) FROM '{file.CsvPath}' WITH (FORMAT csv)");
        var copy = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var field = new FieldDefinition
        {
            FieldId = BaselineFieldId, DatasetId = Guid.Empty, Name = "baseline",
            Type = type == BenchType.Float ? FieldType.Float : FieldType.Enum, IsMulti = type == BenchType.Enum,
        };
        await FieldValueTables.BuildIndexesAsync(builds, BaselineFieldId, FieldValueTables.Indexes(field), new IngestOptions().IndexBuilds, CancellationToken.None);
        var index = sw.Elapsed.TotalSeconds;
        // The table stays, full and indexed: the row-by-row baseline into an indexed table ends the file in it.
        return (copy, index);
    }

    /// <summary>
    /// Before each measured subject (the service's upload, each baseline): a CHECKPOINT, untimed, so every subject starts
    /// with no other subject's writes still to go out. Without it, each pays for the one before it: the previous
    /// subject's dirty buffers, which its own COPY must write out to find room, and the kernel's writeback of the
    /// previous subject's files, which takes a core this 2-core machine's load needs. Off with --settle off.
    /// </summary>
    private static async Task SettleAsync(NpgsqlDataSource db, Options o)
    {
        if (o.Settle)
        {
            await using var conn = await db.OpenConnectionAsync();
            await conn.ExecuteUntimedAsync("CHECKPOINT", CancellationToken.None);
        }
    }

    private static async Task PsqlAsync(EmbeddedPostgres pg, string command)
    {
        var psql = File.Exists("/usr/lib/postgresql/15/bin/psql") ? "/usr/lib/postgresql/15/bin/psql" : "psql";
        var start = new ProcessStartInfo(psql) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in (string[])[$"host=127.0.0.1 port={pg.Port} user=postgres dbname=ingestion", "-v", "ON_ERROR_STOP=1", "-q", "-c", command])
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql failed: {await stderr}");
        }
    }

    /// <summary>One prepared INSERT per row, all in one transaction, into the same plain table: rows per second over a sample.</summary>
    private static async Task<double> RowByRowBaselineAsync(NpgsqlDataSource db, BenchType type, long sample)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteUntimedAsync($"DROP TABLE IF EXISTS row_baseline; CREATE TABLE row_baseline ({BaselineTableColumns})", CancellationToken.None);
        var rate = await InsertRowByRowAsync(conn, "row_baseline", type, sample, BenchFiles.MediaId);
        await conn.ExecuteUntimedAsync("DROP TABLE row_baseline", CancellationToken.None);
        return rate;
    }

    /// <summary>
    /// The job the issue calls straightforward, as it would end a file: one prepared INSERT per row, in one transaction,
    /// into the table the \copy baseline just filled and indexed the service's way, so each row also enters the key and
    /// the query index of a table holding the rest of the file. The sample's items are new ones, so the key takes them.
    /// </summary>
    private static async Task<double> IndexedRowByRowBaselineAsync(NpgsqlDataSource db, BenchType type, long sample, long fileRows)
    {
        await using var conn = await db.OpenConnectionAsync();
        var table = FieldValueTables.TableName(BaselineFieldId);
        var rate = await InsertRowByRowAsync(conn, table, type, sample, i => BenchFiles.MediaId(fileRows + i));
        await conn.ExecuteUntimedAsync($"DROP TABLE {table}", CancellationToken.None);
        return rate;
    }

    private static async Task<double> InsertRowByRowAsync(NpgsqlConnection conn, string table, BenchType type, long sample, Func<long, Guid> mediaId)
    {
        // Values as the files hold them, so each row costs the indexes what a row of the file would.
        var random = new Random(Seed);
        var selections = new Bogus.Randomizer(Seed);
        var sw = Stopwatch.StartNew();
        await using (var tx = await conn.BeginTransactionAsync())
        {
            await using var insert = new NpgsqlCommand(
                $"INSERT INTO {table} (media_id, row_index, value_float, value_enums) VALUES ($1, $2, $3, $4)", conn)
            {
                Parameters =
                {
                    new() { NpgsqlDbType = NpgsqlDbType.Uuid }, new() { NpgsqlDbType = NpgsqlDbType.Bigint },
                    new() { NpgsqlDbType = NpgsqlDbType.Double }, new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint },
                },
            };
            await insert.PrepareAsync();
            for (long i = 0; i < sample; i++)
            {
                insert.Parameters[0].Value = mediaId(i);
                insert.Parameters[1].Value = i;
                insert.Parameters[2].Value = type == BenchType.Float ? random.NextDouble() * 1000 : DBNull.Value;
                insert.Parameters[3].Value = type == BenchType.Enum ? BenchFiles.OptionNumbers(BenchFiles.PickOptions(selections)) : DBNull.Value;
                await insert.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
        }
        return sample / sw.Elapsed.TotalSeconds;
    }

    private static void Report(Options o, List<IngestRun> runs, List<Baseline> baselines, long idleRss, long peakRss)
    {
        Console.WriteLine();
        Console.WriteLine($"## results: medians of {o.Repeat} run(s), {o.Rows:N0} rows per file, {BenchFiles.InvalidShare:P0} invalid");
        Console.WriteLine();
        Console.WriteLine("| type | ingest (accepted → finished) | rows/s | psql \\copy | ingest time / \\copy time | \\copy + indexes | ingest time / (\\copy + indexes) | row-by-row into a plain table, rows/s | speed-up vs it | row-by-row into the indexed table (the issue's straightforward job), rows/s | speed-up vs it | upload | longest progress gap | status p50 / p95 / max | item read p50 / p95 / max | CPU: service + PostgreSQL |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        var medians = new List<TypeMedians>();
        foreach (var group in runs.GroupBy(r => r.Type))
        {
            var m = TypeMedians.Of(o, group.ToList(), baselines);
            medians.Add(m);
            Console.WriteLine($"| {group.Key} | {m.Seconds:F2} s | {m.Rate:N0} | {Measured(m.CopyRate, "{0:N0} rows/s")} | {Measured(m.CopyRate / m.Rate, "{0:F2}x")} | " +
                $"{Measured(m.FloorRate, "{0:N0} rows/s")} | {Measured(m.FloorRate / m.Rate, "{0:F2}x")} | {Measured(m.RowRate, "{0:N0}")} | {Measured(m.Rate / m.RowRate, "{0:F0}x")} | " +
                $"{Measured(m.IndexedRowRate, "{0:N0}")} | {Measured(m.Rate / m.IndexedRowRate, "{0:F0}x")} | " +
                $"{Median(group.Select(r => r.UploadSeconds)):F2} s | {m.MaxProgressGap:F2} s | " +
                $"{Percentiles(group.SelectMany(r => r.StatusMs).ToList())} | {Percentiles(group.SelectMany(r => r.ReadMs).ToList())} | " +
                $"{Median(group.Select(r => r.ServiceCpuSeconds)):F2} + {Median(group.Select(r => r.DatabaseCpuSeconds)):F2} s |");
        }
        Console.WriteLine();
        Console.WriteLine($"service RSS: idle {Mb(idleRss)}, peak over the whole run (VmHWM) {Mb(peakRss)}");
        ReportTargets(medians, peakRss);
        Console.WriteLine("(\\copy and \\copy + indexes are scaled to the file's row count from their rates on the valid rows; " +
            "\\copy + indexes is psql's \\copy followed by the indexes the service builds for the field, built the service's way; row-by-row is a " +
            $"{Math.Min(o.RowByRowSample, o.Rows):N0}-row sample, extrapolated as a rate, into a plain table and into the \\copy baseline's table, " +
            "full and indexed, as the last rows of a file)");
    }

    /// <summary>
    /// Each target of issue 5 this run can judge, by the medians above, met or missed with its figure. Memory that stays
    /// flat with the file's size takes two runs (1M and 10M rows) and is left to the reader of both.
    /// </summary>
    /// <remarks>
    /// The 30x is judged against the issue's own baseline: "a straightforward background job that inserts one row at a
    /// time" (17,600 rows/s on the issue's machine), which writes into the field's table as it is, key and query index
    /// included. The plain-table rate is printed beside it, not judged: 30x of it (577k–845k rows/s in the runs of
    /// docs/benchmarks.md) is at or beyond PostgreSQL itself taking the same rows by \copy and building the same indexes
    /// (440k–652k rows/s), so only a loader that left the values unindexed when the task ends could count on meeting it.
    /// </remarks>
    private static void ReportTargets(List<TypeMedians> medians, long peakRss)
    {
        static string Verdict(bool met) => met ? "met" : "NOT met";
        Console.WriteLine();
        Console.WriteLine("targets of issue 5 (set for 1,000,000-row files), by the medians above:");
        foreach (var m in medians)
        {
            var parts = new List<string> { $"{m.Rate:N0} rows/s against at least 500,000: {Verdict(m.Rate >= 500_000)}" };
            if (!double.IsNaN(m.CopyRate))
            {
                parts.Add($"{m.CopyRate / m.Rate:F2}x psql \\copy's time against at most 3x: {Verdict(m.CopyRate / m.Rate <= 3)}");
                parts.Add($"{m.Rate / m.IndexedRowRate:F1}x the straightforward job (one INSERT per row into the field's indexed table) against at least 30x: " +
                    $"{Verdict(m.Rate / m.IndexedRowRate >= 30)}");
                parts.Add($"{m.Rate / m.RowRate:F1}x row by row into a plain table, not a target " +
                    $"(30x is {30 * m.RowRate:N0} rows/s; PostgreSQL alone, \\copy + indexes, ran at {m.FloorRate:N0})");
            }
            parts.Add($"longest progress gap {m.MaxProgressGap:F2} s against at most 1 s: {Verdict(m.MaxProgressGap <= 1)}");
            Console.WriteLine($"  {m.Type}: {string.Join("; ", parts)}");
        }
        Console.WriteLine($"  peak RSS {Mb(peakRss)} against under 300 MB: {Verdict(peakRss < 300L << 20)}; within 10% from 1M to 10M rows: compare a run of each");
    }

    /// <summary>
    /// One type's medians over its rounds: the service's time and rate, and its baselines' rates (NaN with --baselines
    /// off). Time ratios are rate ratios: the file's rows over each.
    /// </summary>
    private sealed record TypeMedians(BenchType Type, double Seconds, double Rate, double CopyRate, double FloorRate, double RowRate, double IndexedRowRate,
        double MaxProgressGap)
    {
        public static TypeMedians Of(Options o, List<IngestRun> rounds, List<Baseline> baselines)
        {
            var b = baselines.Where(x => x.Type == rounds[0].Type).ToList();
            double BaselineRate(Func<Baseline, double> rate) => b.Count > 0 ? Median(b.Select(rate)) : double.NaN;
            var seconds = Median(rounds.Select(r => r.Seconds));
            return new TypeMedians(rounds[0].Type, seconds, o.Rows / seconds,
                BaselineRate(x => x.CopyRows / x.CopySeconds), BaselineRate(x => x.CopyRows / (x.CopySeconds + x.IndexSeconds)),
                BaselineRate(x => x.RowByRowRate), BaselineRate(x => x.IndexedRowByRowRate),
                rounds.Max(r => r.MaxProgressGap));
        }
    }

    /// <summary>A baseline's figure, or a dash when the run measured no baselines (--baselines off).</summary>
    private static string Measured(double value, string format) =>
        double.IsNaN(value) ? "–" : string.Format(CultureInfo.InvariantCulture, format, value);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Percentiles(List<double> ms)
    {
        if (ms.Count == 0)
        {
            return "-";
        }
        var sorted = ms.Order().ToList();
        double At(double q) => sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(q * sorted.Count))];
        return $"{At(0.5):F0} / {At(0.95):F0} / {sorted[^1]:F0} ms";
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):F0} MB";

    private static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim()
            : null;
        var memory = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").First().Split(':')[1].Trim() : "?";
        return $"{Environment.ProcessorCount} cores ({cpu ?? "unknown cpu"}), {memory} RAM, {Environment.OSVersion}, .NET {Environment.Version}";
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.WriteLine($"could not remove {folder}: {e.Message}");
        }
    }
}
