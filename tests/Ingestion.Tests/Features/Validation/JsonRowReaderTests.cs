using System.Text;
using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Streaming;

namespace Ingestion.Tests.Features.Validation;

/// <summary>
/// A row reads the same wherever the stored chunks happen to cut it: the reader hands over an object before knowing it
/// is complete and hands it over again when it was not, so nothing of a half-read row may leak into the row read.
/// </summary>
public sealed class JsonRowReaderTests
{
    private const string Rows = """
        [
          {"media_id": "0190f0f0-0000-7000-8000-000000000001", "value": 21.5},
          {"note": {"nested": [1, {"deep": "x"}], "more": "y"}, "value": ["red", "green", "blue"], "media_id": "0190f0f0-0000-7000-8000-000000000002"},
          {"media_id": "0190f0f0-0000-7000-8000-000000000003", "value": ["red", 7, null, {"a": 1}]},
          {"file_name": "frame \"001\".jpg", "value": "caf\u00e9 \ud83d\ude00 tab\t"},
          {"media_id": "not-a-uuid", "value": {"temperature": 21.5, "unit": "C"}},
          {"media_id": null, "value": -1.25e-300},
          {"media_id": "0190f0f0-0000-7000-8000-000000000004", "value": 1e999},
          {"media_id": "\u0030190f0f0-0000-7000-8000-000000000005", "value": true},
          "a bare string",
          12345.678,
          [1, 2, 3],
          {},
          {"media_id": "0190f0f0-0000-7000-8000-000000000006", "value": null, "extra": [[[]]]}
        ]
        """;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    public async Task Rows_read_in_pieces_of_any_size_come_out_as_read_whole(int bytesPerRead)
    {
        var whole = await ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(Rows)));
        whole.Count.ShouldBe(13);

        var pieces = await ReadAsync(new TrickleStream(Encoding.UTF8.GetBytes(Rows), bytesPerRead));

        pieces.ShouldBe(whole);
    }

    [Fact]
    public async Task A_row_read_whole_keeps_every_part_of_its_value()
    {
        var rows = await ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(Rows)));

        rows[1].ShouldContain("items=[red|green|blue]");
        rows[2].ShouldContain("""raw=["red", 7, null, {"a": 1}]""");
        rows[3].ShouldContain("file=frame \"001\".jpg");
        rows[3].ShouldContain("text=café 😀 tab\t");
        rows[4].ShouldContain("""text={"temperature": 21.5, "unit": "C"}""");
        rows[7].ShouldContain("id=Valid:0190f0f0-0000-7000-8000-000000000005");
        rows[8].ShouldContain("shape=Row is \"a bare string\"");
    }

    [Fact]
    public async Task Values_that_spell_an_enum_option_read_as_the_options_own_strings_and_nothing_else_changes()
    {
        const string rows = """
            [
              {"media_id": "0190f0f0-0000-7000-8000-000000000001", "value": ["red", "caf\u00e9", "café", "日本", "re", "redd", 7]},
              {"media_id": "0190f0f0-0000-7000-8000-000000000002", "value": "green", "file_name": "red"},
              {"media_id": "0190f0f0-0000-7000-8000-000000000003", "value": ["red", "\ud800"]}
            ]
            """;
        string[] declared = ["red", "café", "日本", "green"];
        // Options made at run time, as a field read from the database has them: not the literals above.
        var options = declared.Select(o => new string(o.AsSpan())).ToArray();
        var texts = new OptionTexts(options);

        (await ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(rows)), texts)).ShouldBe(await ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(rows))));

        var reader = new JsonUploadRowReader(new MemoryStream(Encoding.UTF8.GetBytes(rows)), JsonStreamShape.Array, new UploadLimits());
        var row = new UploadRow { Options = texts };
        (await reader.ReadAsync(row, CancellationToken.None)).ShouldBeTrue();
        row.Items[0].ShouldBeSameAs(options[0]);
        row.Items[2].ShouldBeSameAs(options[1]);
        row.Items[3].ShouldBeSameAs(options[2]);
        row.Items[1].ShouldBe("café"); // escaped: read by System.Text.Json as before
        (await reader.ReadAsync(row, CancellationToken.None)).ShouldBeTrue();
        row.Text.ShouldBeSameAs(options[3]);
        row.FileName.ShouldBe("red");
        row.FileName.ShouldNotBeSameAs(options[0]); // only values are options
        (await reader.ReadAsync(row, CancellationToken.None)).ShouldBeTrue();
        row.UnpairedSurrogateIn.ShouldBe("value");
    }

    private static async Task<List<string>> ReadAsync(Stream stream, OptionTexts? options = null)
    {
        var reader = new JsonUploadRowReader(stream, JsonStreamShape.Array, new UploadLimits());
        var row = new UploadRow { Options = options };
        var read = new List<string>();
        while (await reader.ReadAsync(row, CancellationToken.None))
        {
            read.Add($"#{row.RowIndex} line={row.Line} shape={row.ShapeError} id={row.MediaIdState}:{row.MediaId}:{row.MediaIdText} " +
                     $"file={row.FileName} kind={row.Kind} number={row.Number:R} text={row.Text} bool={row.Boolean} " +
                     $"items=[{string.Join('|', row.Items.Select(i => i ?? "<null>"))}] raw={row.ItemsRaw}");
        }
        reader.BytesConsumed.ShouldBeGreaterThan(0);
        return read;
    }

    /// <summary>A stream that gives at most <paramref name="bytesPerRead"/> bytes a read, as a slow network would.</summary>
    private sealed class TrickleStream(byte[] data, int bytesPerRead) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, bytesPerRead));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, bytesPerRead)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, bytesPerRead)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, bytesPerRead), cancellationToken);
    }
}
