using System.Buffers.Binary;
using System.Text;
using Npgsql;

namespace Ingestion.Api.Infrastructure.Database;

/// <summary>
/// Writes rows of a <c>COPY … FROM STDIN (FORMAT BINARY)</c> straight into a buffer of its own and hands it to
/// Npgsql's raw copy stream a buffer at a time.
/// </summary>
/// <remarks>
/// Why not <see cref="NpgsqlBinaryImporter"/>: it binds a parameter for every value it writes, which a profile of a
/// bulk load of 1M floats put at about 2% of all CPU samples, on the stage that paces the load. The wire format is
/// PostgreSQL's own (a signature, then per row a column count and each value as a length and its bytes, big-endian),
/// and each value is encoded as Npgsql encodes it. Tests read back what was stored for every field type, edge values
/// included (text in several scripts, datetimes on both sides of 2000 and at the end of 9999), and hold the bulk load
/// (straight into the field's table) and the SQL path (through a staging table) to the same values and row errors.
/// </remarks>
public sealed class BinaryCopyWriter : IAsyncDisposable
{
    private const int FlushAt = 60 * 1024;

    // PostgreSQL's epoch, 2000-01-01 UTC, in .NET ticks: timestamps go over the wire as microseconds since it.
    private const long PostgresEpochTicks = 630_822_816_000_000_000;

    private const uint Int16Oid = 21;

    // "PGCOPY\n\377\r\n\0": 0xFF is a byte of its own, which a UTF-8 literal would spell as two.
    private static ReadOnlySpan<byte> Signature => [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00];

    private readonly NpgsqlRawCopyStream _stream;
    private byte[] _buffer = new byte[FlushAt + 4096];
    private int _length;
    private bool _completed;

    private BinaryCopyWriter(NpgsqlRawCopyStream stream) => _stream = stream;

    /// <summary>Starts <paramref name="copyCommand"/>, a COPY … FROM STDIN (FORMAT BINARY), on <paramref name="conn"/>.</summary>
    public static async Task<BinaryCopyWriter> BeginAsync(NpgsqlConnection conn, string copyCommand, CancellationToken ct)
    {
        var writer = new BinaryCopyWriter(await conn.BeginRawBinaryCopyAsync(copyCommand, ct));
        // The signature, then the flags and the length of the header extension, both 0.
        var header = writer.Reserve(19);
        Signature.CopyTo(header);
        header[11..].Clear();
        return writer;
    }

    public void StartRow(short columns)
    {
        BinaryPrimitives.WriteInt16BigEndian(Reserve(2), columns);
    }

    public void WriteNull() => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), -1);

    public void WriteUuid(Guid value)
    {
        var span = Reserve(20);
        BinaryPrimitives.WriteInt32BigEndian(span, 16);
        value.TryWriteBytes(span[4..], bigEndian: true, out _);
    }

    public void WriteInt64(long value)
    {
        var span = Reserve(12);
        BinaryPrimitives.WriteInt32BigEndian(span, 8);
        BinaryPrimitives.WriteInt64BigEndian(span[4..], value);
    }

    public void WriteDouble(double value)
    {
        var span = Reserve(12);
        BinaryPrimitives.WriteInt32BigEndian(span, 8);
        BinaryPrimitives.WriteDoubleBigEndian(span[4..], value);
    }

    /// <summary>
    /// A UTC instant as timestamptz, always finite (Npgsql would send DateTime.MinValue and MaxValue as -infinity and
    /// infinity, which are not instants anyone uploaded).
    /// </summary>
    public void WriteTimestampTz(DateTime value) => WriteInt64(PostgresMicroseconds(value));

    /// <summary>
    /// A UTC instant as PostgreSQL holds a timestamptz: whole microseconds since 2000-01-01, the rest of the ticks
    /// dropped toward that epoch, as Npgsql drops them.
    /// </summary>
    public static long PostgresMicroseconds(DateTime utc) => (utc.Ticks - PostgresEpochTicks) / 10;

    /// <summary>The instant PostgreSQL stores for <paramref name="utc"/>: <see cref="PostgresMicroseconds"/> back in ticks.</summary>
    public static DateTime AtPostgresPrecision(DateTime utc) =>
        new(PostgresEpochTicks + PostgresMicroseconds(utc) * 10, DateTimeKind.Utc);

    /// <summary>Text as UTF-8; null is NULL.</summary>
    public void WriteText(string? value)
    {
        if (value is null)
        {
            WriteNull();
            return;
        }
        var span = Reserve(4 + Encoding.UTF8.GetMaxByteCount(value.Length));
        var written = Encoding.UTF8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteInt32BigEndian(span, written);
        _length -= span.Length - 4 - written;
    }

    /// <summary>A one-dimensional smallint[] without NULLs, lower bound 1; null is NULL.</summary>
    public void WriteInt16Array(short[]? values)
    {
        if (values is null)
        {
            WriteNull();
            return;
        }
        // The array's length, its header (dimensions, no NULLs, element type, then length and lower bound of its one
        // dimension when it has elements), and each element as a length and its two bytes.
        var headerLength = values.Length > 0 ? 20 : 12;
        var span = Reserve(4 + headerLength + 6 * values.Length);
        BinaryPrimitives.WriteInt32BigEndian(span, headerLength + 6 * values.Length);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], values.Length > 0 ? 1 : 0);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(span[12..], Int16Oid);
        if (values.Length > 0)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[16..], values.Length);
            BinaryPrimitives.WriteInt32BigEndian(span[20..], 1);
        }
        var elements = span[(4 + headerLength)..];
        foreach (var value in values)
        {
            BinaryPrimitives.WriteInt32BigEndian(elements, 2);
            BinaryPrimitives.WriteInt16BigEndian(elements[4..], value);
            elements = elements[6..];
        }
    }

    /// <summary>Hands the buffer to the copy stream once it is nearly full; call between rows.</summary>
    public ValueTask FlushIfFullAsync(CancellationToken ct) => _length >= FlushAt ? FlushAsync(ct) : ValueTask.CompletedTask;

    /// <summary>Ends the data and completes the COPY.</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        BinaryPrimitives.WriteInt16BigEndian(Reserve(2), -1);
        await FlushAsync(ct);
        _completed = true;
        await _stream.DisposeAsync();
    }

    /// <summary>Without <see cref="CompleteAsync"/>, cancels the COPY: nothing of it is stored.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_completed)
        {
            return;
        }
        try
        {
            await _stream.CancelAsync();
            await _stream.DisposeAsync();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException)
        {
            // Disposing after a failure: the failure that brought us here is the one to report, and the transaction
            // the COPY ran in is rolled back with it.
        }
    }

    private async ValueTask FlushAsync(CancellationToken ct)
    {
        await _stream.WriteAsync(_buffer.AsMemory(0, _length), ct);
        _length = 0;
    }

    private Span<byte> Reserve(int bytes)
    {
        if (_length + bytes > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + bytes));
        }
        var span = _buffer.AsSpan(_length, bytes);
        _length += bytes;
        return span;
    }
}
