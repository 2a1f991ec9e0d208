using Ingestion.Api.Features.Uploads;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Ingestion.Api.Features.Fields;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Streaming;

namespace Ingestion.Bench;

/// <summary>The upload row shapes per declared type, as the micro-benchmarks parse and validate them.</summary>
public static class MicroRows
{
    public const int Rows = 10_000;

    public static readonly string[] Types = ["float", "string", "datetime", "enum", "multi_enum", "link"];

    public static FieldDefinition Field(string type) => new()
    {
        FieldId = Guid.NewGuid(),
        DatasetId = Guid.NewGuid(),
        Name = type,
        Type = FieldDefinition.ParseType(type == "multi_enum" ? "enum" : type)!.Value,
        IsMulti = type == "multi_enum",
        EnumOptions = type.EndsWith("enum", StringComparison.Ordinal) ? BenchFiles.Options : [],
    };

    /// <summary>A JSON array of <see cref="Rows"/> valid rows of the type, one per line.</summary>
    public static byte[] File(string type)
    {
        var random = new Random(42);
        var sb = new StringBuilder("[\n");
        for (var i = 0; i < Rows; i++)
        {
            var value = type switch
            {
                "float" => (random.NextDouble() * 2000 - 1000).ToString("F4", System.Globalization.CultureInfo.InvariantCulture),
                "string" => $"\"caption {i} of a street at night\"",
                "datetime" => $"\"2024-02-{1 + i % 28:D2}T10:{i % 60:D2}:00Z\"",
                "enum" => $"\"{BenchFiles.Options[i % BenchFiles.Options.Length]}\"",
                "multi_enum" => $"[\"{BenchFiles.Options[i % 8]}\", \"{BenchFiles.Options[(i + 3) % 8]}\"]",
                _ => $"\"https://cdn.example.com/images/{i}.jpg\"",
            };
            sb.Append($"{{\"media_id\": \"{BenchFiles.MediaId(i)}\", \"value\": {value}}}").Append(i + 1 < Rows ? ",\n" : "\n");
        }
        return Encoding.UTF8.GetBytes(sb.Append(']').ToString());
    }
}

/// <summary>Reads a whole in-memory upload through the service's JSON row reader: bytes to <see cref="UploadRow"/>s.</summary>
[MemoryDiagnoser]
public class RowParserBenchmarks
{
    private byte[] _file = [];

    [ParamsSource(nameof(Types))]
    public string Type { get; set; } = "float";

    public static IEnumerable<string> Types => MicroRows.Types;

    [GlobalSetup]
    public void Setup() => _file = MicroRows.File(Type);

    [Benchmark(OperationsPerInvoke = MicroRows.Rows)]
    public async Task<long> ParseRows()
    {
        // The job's own reader stack: UTF-8 guard, then the JSON row reader.
        using var reader = UploadFormats.Open(new MemoryStream(_file, writable: false), UploadFormats.Json, compression: null,
            listValues: false, new UploadLimits());
        var row = new UploadRow();
        long n = 0;
        while (await reader.ReadAsync(row, CancellationToken.None))
        {
            n += row.RowIndex;
        }
        return n;
    }
}

/// <summary>Validates already parsed rows against their field: the per-row cost of type checking.</summary>
[MemoryDiagnoser]
public class ValidatorBenchmarks
{
    private FieldDefinition _field = null!;
    private UploadRow[] _rows = [];

    [ParamsSource(nameof(Types))]
    public string Type { get; set; } = "float";

    public static IEnumerable<string> Types => MicroRows.Types;

    [GlobalSetup]
    public void Setup()
    {
        _field = MicroRows.Field(Type);
        var rows = new List<UploadRow>();
        var reader = new JsonElementStream(new MemoryStream(MicroRows.File(Type)), JsonStreamShape.Array);
        var row = new UploadRow();
        JsonElementHandler handler = (ref Utf8JsonReader r, ReadOnlySpan<byte> data) => JsonRowParser.Parse(ref r, data, row);
        while (true)
        {
            row = new UploadRow();
            row.Reset(reader.ElementIndex);
            if (!reader.ReadNextAsync(handler, CancellationToken.None).AsTask().GetAwaiter().GetResult())
            {
                break;
            }
            rows.Add(row);
        }
        _rows = [.. rows];
    }

    [Benchmark(OperationsPerInvoke = MicroRows.Rows)]
    public int ValidateRows()
    {
        var valid = 0;
        foreach (var row in _rows)
        {
            if (ValueValidator.CheckShape(row) is null && ValueValidator.Validate(_field, row, out _) is null)
            {
                valid++;
            }
        }
        return valid;
    }
}
