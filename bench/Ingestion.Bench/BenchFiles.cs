using System.Globalization;
using System.Text;
using System.Text.Json;
using Bogus;
using Ingestion.Api.Features.Fields;

namespace Ingestion.Bench;

/// <summary>The two kinds of field the benchmark ingests.</summary>
public enum BenchType { Float, Enum }

/// <summary>What a generated file must produce once ingested: the benchmark checks the service against it.</summary>
public sealed record GeneratedFile(string JsonPath, string CsvPath, long Rows, long ValidRows, long Bytes)
{
    public long InvalidRows => Rows - ValidRows;
}

/// <summary>
/// Writes the upload files to disk, seeded, so every run ingests the same bytes. Row i names media item i; about 5%
/// of rows are invalid, of mixed kinds, so both the error path and the value path are under load. The CSV beside
/// each file holds the valid rows as field_values columns, for the psql \copy baseline.
/// </summary>
public static class BenchFiles
{
    public const double InvalidShare = 0.05;
    public static readonly string[] Options = ["red", "green", "blue", "cyan", "magenta", "yellow", "black", "white"];

    /// <summary>The id of media item <paramref name="i"/>: random-looking (as v4 ids are), but reproducible without storing it.</summary>
    public static Guid MediaId(long i)
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, Mix((ulong)i));
        BitConverter.TryWriteBytes(bytes[8..], Mix((ulong)i ^ 0xA5A5_5A5A_DEAD_BEEFUL));
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes);
    }

    private static ulong Mix(ulong x)
    {
        x += 0x9E37_79B9_7F4A_7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return x ^ (x >> 31);
    }

    public static GeneratedFile Write(string folder, BenchType type, long rows, int seed)
    {
        var name = $"{type.ToString().ToLowerInvariant()}-{rows}";
        var jsonPath = Path.Combine(folder, name + ".json");
        var csvPath = Path.Combine(folder, name + ".csv");
        var random = new Randomizer(seed);
        long valid = 0;
        var previousValid = false;
        using (var jsonFile = new FileStream(jsonPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var csvFile = new StreamWriter(csvPath, false, new UTF8Encoding(false), 1 << 20))
        using (var json = new Utf8JsonWriter(jsonFile, new JsonWriterOptions { SkipValidation = true }))
        {
            json.WriteStartArray();
            for (long i = 0; i < rows; i++)
            {
                // Rows are written one per line, as exporting tools do; the reader's line counting is then exercised too.
                json.Flush();
                jsonFile.WriteByte((byte)'\n');
                json.WriteStartObject();
                if (random.Double() < InvalidShare)
                {
                    WriteInvalid(json, type, random, i, previousValid);
                    previousValid = false;
                }
                else
                {
                    json.WriteString("media_id"u8, MediaId(i));
                    WriteValid(json, csvFile, type, random, i);
                    valid++;
                    previousValid = true;
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return new GeneratedFile(jsonPath, csvPath, rows, valid, new FileInfo(jsonPath).Length);
    }

    /// <summary>The first <paramref name="rows"/> rows of a file <see cref="Write"/> wrote, as a JSON array of their own.</summary>
    public static string FirstRows(string jsonPath, int rows)
    {
        // The file is "[", then a row a line, each after the first led by its comma.
        var lines = File.ReadLines(jsonPath).Skip(1).Take(rows).Select(l => l.TrimEnd(']'));
        return "[" + string.Join('\n', lines) + "]";
    }

    private static void WriteValid(Utf8JsonWriter json, StreamWriter csv, BenchType type, Randomizer random, long i)
    {
        // CSV columns: media_id, row_index, value_float, value_enums (the ids of field, workspace, dataset and
        // task are constants the baseline table takes as defaults, as the service's insert takes them as parameters).
        csv.Write(MediaId(i).ToString());
        csv.Write(',');
        csv.Write(i.ToString(CultureInfo.InvariantCulture));
        if (type == BenchType.Float)
        {
            var value = Math.Round(random.Double(-1000, 1000), 4);
            json.WriteNumber("value"u8, value);
            csv.Write(',');
            csv.Write(value.ToString("R", CultureInfo.InvariantCulture));
            csv.WriteLine(',');
            return;
        }
        var picked = PickOptions(random);
        json.WriteStartArray("value"u8);
        foreach (var o in picked)
        {
            json.WriteStringValue(o);
        }
        json.WriteEndArray();
        // As the service stores a selection: by option number (migration 0018).
        csv.Write(",,\"{");
        csv.Write(string.Join(',', OptionNumbers(picked)));
        csv.WriteLine("}\"");
    }

    /// <summary>A multi-enum selection as the files hold them: one to three distinct options.</summary>
    public static string[] PickOptions(Randomizer random) =>
        random.Shuffle(Options).Take(random.Number(1, 3)).ToArray();

    private static readonly FieldDefinition MultiEnum = new()
    {
        FieldId = Guid.Empty, DatasetId = Guid.Empty, Name = "bench", Type = FieldType.Enum, IsMulti = true, EnumOptions = Options,
    };

    /// <summary>A selection's option numbers, as the service stores it (<see cref="FieldDefinition.OptionNumbers"/>).</summary>
    public static short[] OptionNumbers(string[] selection) => Array.ConvertAll(selection, o => MultiEnum.OptionNumbers[o]);

    /// <summary>An invalid row of one of the kinds users actually send, picked at random.</summary>
    private static void WriteInvalid(Utf8JsonWriter json, BenchType type, Randomizer random, long i, bool previousValid)
    {
        switch (random.Number(0, 5))
        {
            case 0: // an item that is not registered
                json.WriteString("media_id"u8, random.Uuid());
                WriteValidValue(json, type, random);
                break;
            case 1: // the item of the previous row again; only a duplicate when that row stored its value
                json.WriteString("media_id"u8, previousValid ? MediaId(i - 1) : random.Uuid());
                WriteValidValue(json, type, random);
                break;
            case 2:
                json.WriteString("media_id"u8, "item-" + i.ToString(CultureInfo.InvariantCulture));
                WriteValidValue(json, type, random);
                break;
            case 3:
                json.WriteString("media_id"u8, MediaId(i));
                json.WriteNull("value"u8);
                break;
            case 4:
                json.WriteString("media_id"u8, MediaId(i));
                if (type == BenchType.Float)
                {
                    json.WriteString("value"u8, "n/a");
                }
                else
                {
                    json.WriteStartArray("value"u8);
                    json.WriteStringValue("purple");
                    json.WriteEndArray();
                }
                break;
            default:
                json.WriteString("media_id"u8, MediaId(i));
                if (type == BenchType.Float)
                {
                    json.WriteBoolean("value"u8, true);
                }
                else
                {
                    json.WriteStartArray("value"u8);
                    json.WriteEndArray();
                }
                break;
        }
    }

    private static void WriteValidValue(Utf8JsonWriter json, BenchType type, Randomizer random)
    {
        if (type == BenchType.Float)
        {
            json.WriteNumber("value"u8, Math.Round(random.Double(-1000, 1000), 4));
            return;
        }
        json.WriteStartArray("value"u8);
        foreach (var o in PickOptions(random))
        {
            json.WriteStringValue(o);
        }
        json.WriteEndArray();
    }
}
