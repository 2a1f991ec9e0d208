using Npgsql;

namespace Ingestion.Api.Infrastructure.Database;

/// <summary>One statement on an open connection, its values bound as positional parameters ($1, $2, …).</summary>
public static class NpgsqlConnectionExtensions
{
    public static async Task ExecuteAsync(this NpgsqlConnection conn, string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = Command(conn, sql, args);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<T> ScalarAsync<T>(this NpgsqlConnection conn, string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = Command(conn, sql, args);
        return (T)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// The same without the command timeout, for statements whose duration grows with the data or that wait on a lock
    /// by design (index builds, a field's lock); they end by completing or by <paramref name="ct"/>.
    /// </summary>
    public static async Task ExecuteUntimedAsync(this NpgsqlConnection conn, string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = Command(conn, sql, args);
        cmd.CommandTimeout = 0;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Whether the planner's statistics on <paramref name="table"/> are due after <paramref name="rowsAdded"/> new rows:
    /// it was never counted (reltuples is -1 until a table is first analyzed or indexed), or they are a
    /// <paramref name="fraction"/>th or more of the rows PostgreSQL last counted there.
    /// </summary>
    public static async Task<bool> StatisticsDueAsync(this NpgsqlConnection conn, string table, long rowsAdded, int fraction, CancellationToken ct)
    {
        var counted = await conn.CountedRowsAsync(table, ct);
        return counted <= 0 || rowsAdded >= counted / fraction;
    }

    /// <summary>
    /// The rows PostgreSQL last counted in <paramref name="table"/> (its last statistics or index build), without a
    /// scan; -1 if it never counted them or there is no such table.
    /// </summary>
    public static Task<float> CountedRowsAsync(this NpgsqlConnection conn, string table, CancellationToken ct) =>
        conn.ScalarAsync<float>("SELECT coalesce((SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)), -1)", ct, table);

    private static NpgsqlCommand Command(NpgsqlConnection conn, string sql, object[] args)
    {
        var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }
        return cmd;
    }
}
