using Npgsql;
using NpgsqlTypes;

namespace Ingestion.Tests.Harness;

/// <summary>What tests read straight from the database to hold the API's answers to.</summary>
public static class DatabaseReads
{
    /// <summary>The rows of <paramref name="task"/> refused with <paramref name="code"/> (any, if null), in row order, as stored.</summary>
    public static async Task<List<long>> ErrorRowsAsync(this NpgsqlConnection db, Guid task, string? code = null)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT row_index FROM row_errors WHERE task_id = $1 AND ($2::text IS NULL OR error_code = $2) ORDER BY row_index", db)
        {
            Parameters = { new() { Value = task }, new() { Value = (object?)code ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text } },
        };
        var rows = new List<long>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            rows.Add(r.GetInt64(0));
        }
        return rows;
    }

    /// <summary>The plan PostgreSQL makes for <paramref name="sql"/> with these values bound, a line each.</summary>
    public static async Task<List<string>> ExplainAsync(this NpgsqlConnection db, string sql, params object[] args)
    {
        await using var explain = new NpgsqlCommand("EXPLAIN " + sql, db);
        foreach (var arg in args)
        {
            explain.Parameters.Add(new NpgsqlParameter { Value = arg });
        }
        var plan = new List<string>();
        await using var r = await explain.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            plan.Add(r.GetString(0));
        }
        return plan;
    }
}
