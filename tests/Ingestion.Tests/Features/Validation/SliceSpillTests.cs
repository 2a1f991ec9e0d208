using Ingestion.Api.Features.Validation;

namespace Ingestion.Tests.Features.Validation;

/// <summary>
/// A later pass of a bulk load reads the rows the first pass spilled for it exactly as the format reader first left
/// them, and only once the first pass sealed them.
/// </summary>
public sealed class SliceSpillTests : IDisposable
{
    private readonly string _folder = SliceSpill.FolderOf(Path.GetTempPath(), Guid.NewGuid());

    [Fact]
    public async Task A_sealed_spill_gives_each_pass_its_rows_as_they_were_read_and_the_files_row_count()
    {
        var rows = new[]
        {
            Row(3, 4, r => { r.Kind = RowValueKind.Number; r.Number = -2.5e-7; }),
            Row(7, 8, r => { r.Kind = RowValueKind.String; r.Text = "2026-01-01T00:00:00Z ü \"quoted\""; }),
            Row(9, 12, r => { r.Kind = RowValueKind.Array; r.Items.AddRange(["red", null, ""]); }),
            Row(11, 13, r => { r.Kind = RowValueKind.Number; r.Number = 1e300; r.Text = null; }),
        };
        using (var spill = SliceSpill.Start(_folder, passes: 3))
        {
            spill.Write(2, rows[0]);
            spill.Write(1, rows[1]);
            spill.Write(2, rows[2]);
            spill.Write(2, rows[3]);
            SliceSpill.TryOpen(_folder, 2, uploadBytes: 1000).ShouldBeNull("not sealed yet");
            spill.Seal(rowsInFile: 20);
        }

        using var reader = SliceSpill.TryOpen(_folder, 2, uploadBytes: 1000).ShouldNotBeNull();
        var read = new List<string>();
        var row = new UploadRow();
        while (await reader.ReadAsync(row, CancellationToken.None))
        {
            read.Add(Describe(row));
        }
        read.ShouldBe([Describe(rows[0]), Describe(rows[2]), Describe(rows[3])]);
        reader.RowsInFile.ShouldBe(20);
        reader.BytesConsumed.ShouldBe(1000);
        SliceSpill.TryOpen(_folder, 0, 1000).ShouldBeNull("the first pass reads the upload itself");
    }

    [Fact]
    public void An_abandoned_spill_leaves_nothing_for_the_later_passes()
    {
        using var spill = SliceSpill.Start(_folder, passes: 2);
        spill.Write(1, Row(0, 1, r => { r.Kind = RowValueKind.Number; r.Number = 1; }));
        spill.Abandon();
        spill.Seal(rowsInFile: 1);

        spill.Active.ShouldBeFalse();
        SliceSpill.TryOpen(_folder, 1, 100).ShouldBeNull();
        Directory.Exists(_folder).ShouldBeFalse();
    }

    public void Dispose() => SliceSpill.Remove(_folder);

    private static UploadRow Row(long index, long line, Action<UploadRow> value)
    {
        var row = new UploadRow();
        row.Reset(index);
        row.Line = line;
        row.MediaIdState = MediaIdState.Valid;
        row.MediaId = Guid.NewGuid();
        value(row);
        return row;
    }

    private static string Describe(UploadRow r) =>
        $"{r.RowIndex}|{r.Line}|{r.MediaIdState}|{r.MediaId}|{r.Kind}|{r.Number:R}|{r.Boolean}|{r.Text}|{string.Join(",", r.Items.Select(i => i ?? "<null>"))}";
}
