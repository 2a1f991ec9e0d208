using System.Text;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// What the first pass of a bulk load in passes leaves for the others: each later slice's rows, already parsed and
/// checked, in a file of their own on local disk, so a later pass reads its own rows instead of parsing the whole
/// upload again. Only an optimisation: the stored upload stays the source of truth, and a pass whose file is missing
/// (another node resumed the task, or the first pass did not run whole here) parses the upload as before.
/// </summary>
/// <remarks>
/// A row is written as the format reader left it (the validator runs again on reading, and gives the same verdict),
/// by the reading stage alone, in file order, so each file is in file order too. A file becomes visible under its
/// final name only once sealed with the number of rows in the upload, the checkpoint its pass ends at.
/// </remarks>
internal sealed class SliceSpill : IDisposable
{
    private const long EndOfRows = -1;
    private readonly string _folder;
    private readonly BinaryWriter?[] _writers;
    private bool _abandoned;

    private SliceSpill(string folder, int passes)
    {
        _folder = folder;
        _writers = new BinaryWriter?[passes];
        for (var pass = 1; pass < passes; pass++)
        {
            var file = new FileStream(PartialPath(folder, pass), FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
            _writers[pass] = new BinaryWriter(file, Encoding.UTF8);
        }
    }

    public const string FolderPrefix = "ingestion-spill-";

    /// <summary>The task's spill folder under <paramref name="root"/>: the id alone names it.</summary>
    public static string FolderOf(string root, Guid taskId) => Path.Combine(root, $"{FolderPrefix}{taskId:N}");

    /// <summary>Starts the spill of a first pass, in a folder emptied of whatever an earlier attempt left.</summary>
    public static SliceSpill Start(string folder, int passes)
    {
        Remove(folder);
        Directory.CreateDirectory(folder);
        return new SliceSpill(folder, passes);
    }

    /// <summary>Removes the folder; what cannot be removed now is left for the sweeper, once the task is finished.</summary>
    public static void Remove(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>False once abandoned: the later passes will parse the upload.</summary>
    public bool Active => !_abandoned;

    /// <summary>Keeps a checked row of a later slice for that slice's pass; on a full disk, gives up the spill instead.</summary>
    public void Write(int pass, UploadRow row)
    {
        try
        {
            WriteRow(_writers[pass]!, row);
        }
        catch (IOException)
        {
            Abandon();
        }
    }

    private static void WriteRow(BinaryWriter w, UploadRow row)
    {
        w.Write(row.RowIndex);
        w.Write(row.Line);
        Span<byte> id = stackalloc byte[16];
        row.MediaId.TryWriteBytes(id);
        w.Write(id);
        w.Write((byte)row.Kind);
        w.Write(row.Number);
        w.Write(row.Boolean);
        WriteNullable(w, row.Text);
        w.Write(row.Items.Count);
        foreach (var item in row.Items)
        {
            WriteNullable(w, item);
        }
    }

    /// <summary>
    /// Gives up on the spill (a row names its item by file name, which only the database stage resolves, so the row's
    /// slice is not known here): the later passes parse the upload.
    /// </summary>
    public void Abandon()
    {
        if (_abandoned)
        {
            return;
        }
        _abandoned = true;
        try
        {
            CloseWriters();
        }
        catch (IOException)
        {
            // A full disk fails the flush too; the files go all the same.
        }
        Remove(_folder);
    }

    /// <summary>Ends each file with the number of rows in the upload and makes it visible to its pass.</summary>
    public void Seal(long rowsInFile)
    {
        if (_abandoned)
        {
            return;
        }
        try
        {
            for (var pass = 1; pass < _writers.Length; pass++)
            {
                _writers[pass]!.Write(EndOfRows);
                _writers[pass]!.Write(rowsInFile);
            }
            CloseWriters();
            for (var pass = 1; pass < _writers.Length; pass++)
            {
                File.Move(PartialPath(_folder, pass), SealedPath(_folder, pass), overwrite: true);
            }
        }
        catch (IOException)
        {
            Abandon();
        }
    }

    public void Dispose()
    {
        if (!_abandoned)
        {
            CloseWriters();
        }
    }

    /// <summary>The rows spilled for <paramref name="pass"/>, or null when there is no sealed file for it.</summary>
    public static SpilledRowReader? TryOpen(string folder, int pass, long uploadBytes)
    {
        var path = SealedPath(folder, pass);
        return File.Exists(path) ? new SpilledRowReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024), uploadBytes) : null;
    }

    private void CloseWriters()
    {
        foreach (var w in _writers)
        {
            w?.Dispose();
        }
    }

    private static void WriteNullable(BinaryWriter w, string? text)
    {
        w.Write(text is not null);
        if (text is not null)
        {
            w.Write(text);
        }
    }

    private static string PartialPath(string folder, int pass) => Path.Combine(folder, $"slice-{pass}.partial");

    private static string SealedPath(string folder, int pass) => Path.Combine(folder, $"slice-{pass}.rows");

    /// <summary>A later pass's own rows, read back as the format reader first left them.</summary>
    internal sealed class SpilledRowReader(FileStream file, long uploadBytes) : IUploadRowReader, IDisposable
    {
        private readonly BinaryReader _reader = new(file, Encoding.UTF8);

        /// <summary>The upload's row count, known once the last row is read: where the pass's checkpoint ends.</summary>
        public long RowsInFile { get; private set; }

        /// <summary>The share of this pass's rows read, as bytes of the upload, so progress moves as for a parsed pass.</summary>
        public long BytesConsumed => file.Length == 0 ? uploadBytes : (long)((double)file.Position / file.Length * uploadBytes);

        public ValueTask<bool> ReadAsync(UploadRow row, CancellationToken ct)
        {
            var rowIndex = _reader.ReadInt64();
            if (rowIndex == EndOfRows)
            {
                RowsInFile = _reader.ReadInt64();
                return ValueTask.FromResult(false);
            }
            row.Reset(rowIndex);
            row.Line = _reader.ReadInt64();
            Span<byte> id = stackalloc byte[16];
            file.ReadExactly(id);
            row.MediaIdState = MediaIdState.Valid;
            row.MediaId = new Guid(id);
            row.Kind = (RowValueKind)_reader.ReadByte();
            row.Number = _reader.ReadDouble();
            row.Boolean = _reader.ReadBoolean();
            row.Text = ReadNullable();
            for (var items = _reader.ReadInt32(); items > 0; items--)
            {
                row.Items.Add(ReadNullable());
            }
            return ValueTask.FromResult(true);
        }

        private string? ReadNullable() => _reader.ReadBoolean() ? _reader.ReadString() : null;

        public void Dispose() => _reader.Dispose();
    }
}
