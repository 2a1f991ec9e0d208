using Npgsql;
using NpgsqlTypes;

namespace Ingestion.Api.Features.Errors;

/// <summary>One row error as a task records it; a file-level error (the file broken from that row on) has a column too.</summary>
internal readonly record struct RowErrorEntry(long RowIndex, long? Line, string? MediaId, string? FileName, string Code, string Reason,
    string? Value, long? Column = null, bool IsFileError = false);

/// <summary>
/// Row errors are kept a block at a time (migration 0019): each checkpoint writes the errors it found as one row of
/// row_error_blocks, parallel arrays in row order, instead of a row each. Pages are read back in row order across
/// blocks, which may overlap (a bulk load in passes refuses rows from all over the file in each pass).
/// </summary>
internal static class RowErrorBlocks
{
    // A block's columns, in the order both inserts below give them.
    private const string InsertInto = """
        INSERT INTO row_error_blocks (task_id, first_row, last_row, workspace_id, error_count, codes, code_counts,
                                      row_indexes, media_ids, file_names, error_codes, reasons, row_values, lines, cols, file_errors)
        """;

    private const string InsertSql = $"""
        {InsertInto}
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
        """;

    /// <summary>
    /// Writes <paramref name="errors"/>, sorted by row and none of them refused before, as one block, and returns how
    /// many it wrote. With <paramref name="ifAbsent"/> a block already written from the same first row is kept instead
    /// (the finish of a task that is redone after a crash records its file-level error once).
    /// </summary>
    public static async Task<int> InsertAsync(NpgsqlConnection conn, Guid taskId, Guid workspaceId, IReadOnlyList<RowErrorEntry> errors,
        CancellationToken ct, bool ifAbsent = false)
    {
        await using var batch = new NpgsqlBatch(conn) { BatchCommands = { InsertCommand(taskId, workspaceId, errors, ifAbsent) } };
        return await batch.ExecuteNonQueryAsync(ct) * errors.Count;
    }

    /// <summary>
    /// The statement that writes <paramref name="errors"/>, sorted by row and none of them refused before, as one block:
    /// for a caller that sends it in one round trip with the rest of its transaction.
    /// </summary>
    public static NpgsqlBatchCommand InsertCommand(Guid taskId, Guid workspaceId, IReadOnlyList<RowErrorEntry> errors, bool ifAbsent = false)
    {
        var n = errors.Count;
        var (rows, lines, columns, mediaIds, fileNames, codes, reasons, values, fileErrors) =
            (new long[n], new long?[n], new long?[n], new string?[n], new string?[n], new string[n], new string[n], new string?[n], new bool[n]);
        var perCode = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            var e = errors[i];
            (rows[i], lines[i], columns[i], mediaIds[i], fileNames[i], codes[i], reasons[i], values[i], fileErrors[i]) =
                (e.RowIndex, e.Line, e.Column, e.MediaId, e.FileName, e.Code, e.Reason, e.Value, e.IsFileError);
            perCode[e.Code] = perCode.GetValueOrDefault(e.Code) + 1;
        }
        return new NpgsqlBatchCommand(ifAbsent ? InsertSql + " ON CONFLICT DO NOTHING" : InsertSql)
        {
            Parameters =
            {
                new() { Value = taskId }, new() { Value = rows[0] }, new() { Value = rows[^1] }, new() { Value = workspaceId },
                new() { Value = n }, new() { Value = perCode.Keys.ToArray() }, new() { Value = perCode.Values.ToArray() },
                new() { Value = rows }, Texts(mediaIds), Texts(fileNames), Texts(codes), Texts(reasons), Texts(values),
                new() { Value = lines, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
                new() { Value = columns, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
                new() { Value = fileErrors },
            },
        };
    }

    private static NpgsqlParameter Texts(string?[] values) => new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    /// <summary>
    /// The SQL that stores, as one block, the refused rows a statement's CTE <c>errors</c> yields (row_index, media_id,
    /// file_name, error_code, reason, value, line), with $1 the task and $4 its workspace; it stores nothing when there
    /// are none. Its rows return the block's error_count.
    /// </summary>
    public const string InsertFromErrorsCteSql = $"""
        {InsertInto}
        SELECT $1, min(row_index), max(row_index), $4, count(*), c.codes, c.code_counts,
               array_agg(row_index ORDER BY row_index), array_agg(media_id ORDER BY row_index),
               array_agg(file_name ORDER BY row_index), array_agg(error_code ORDER BY row_index),
               array_agg(reason ORDER BY row_index), array_agg(value ORDER BY row_index), array_agg(line ORDER BY row_index),
               array_fill(NULL::bigint, ARRAY[count(*)::integer]), array_fill(false, ARRAY[count(*)::integer])
        FROM errors
        CROSS JOIN (SELECT array_agg(error_code ORDER BY error_code) AS codes, array_agg(n ORDER BY error_code) AS code_counts
                    FROM (SELECT error_code, count(*)::integer AS n FROM errors GROUP BY error_code) per_code) c
        GROUP BY c.codes, c.code_counts
        RETURNING error_count
        """;

    // A page is the first $5 errors after row $3. Blocks are taken in order of their first row: once the blocks taken so
    // far hold $5 errors after row $3, the page's errors all lie at or before the last row of those blocks, so a block
    // that starts after it cannot hold one. A block straddling row $3 is counted as holding none, so the bound errs
    // wide, never narrow. Only the blocks within it are read and unnested: a page of a single-pass task reads one or
    // two blocks, however many the task has.
    internal const string PageSql = """
        WITH candidates AS (
            SELECT last_row,
                   sum(CASE WHEN first_row <= $3 THEN 0
                            WHEN $4::text[] IS NULL THEN error_count
                            ELSE (SELECT coalesce(sum(c.n), 0) FROM unnest(codes, code_counts) c(code, n) WHERE c.code = ANY($4)) END)
                       OVER (ORDER BY first_row ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
            FROM row_error_blocks
            WHERE task_id = $1 AND workspace_id = $2 AND last_row > $3 AND ($4::text[] IS NULL OR codes && $4)
        )
        SELECT e.row_index, e.media_id, e.file_name, e.value, e.error_code, e.reason, e.line, e.col, e.is_file_error
        FROM row_error_blocks b
        CROSS JOIN LATERAL unnest(b.row_indexes, b.media_ids, b.file_names, b.row_values, b.error_codes, b.reasons, b.lines,
                                  b.cols, b.file_errors)
            AS e(row_index, media_id, file_name, value, error_code, reason, line, col, is_file_error)
        WHERE b.task_id = $1 AND b.workspace_id = $2 AND b.last_row > $3 AND ($4::text[] IS NULL OR b.codes && $4)
          AND b.first_row <= (SELECT max(last_row) FROM candidates WHERE coalesce(before, 0) < $5)
          AND e.row_index > $3 AND ($4::text[] IS NULL OR e.error_code = ANY($4))
        ORDER BY e.row_index
        LIMIT $5
        """;

    /// <summary>The first <paramref name="limit"/> errors of the task after row <paramref name="after"/>, in row order.</summary>
    public static async Task<List<RowErrorItem>> PageAsync(NpgsqlConnection conn, Guid taskId, Guid workspaceId, long after,
        string[]? codes, int limit, CancellationToken ct)
    {
        var errors = new List<RowErrorItem>(Math.Min(limit, 1024));
        await using var cmd = PageCommand(conn, PageSql, taskId, workspaceId, after, codes, limit);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            errors.Add(new RowErrorItem(r.GetInt64(0), ErrorsApi.Text(r, 1), ErrorsApi.Text(r, 2), ErrorsApi.Text(r, 3), r.GetString(4),
                r.GetString(5), r.IsDBNull(6) ? null : r.GetInt64(6), r.IsDBNull(7) ? null : r.GetInt64(7), r.GetBoolean(8)));
        }
        return errors;
    }

    /// <summary>
    /// <paramref name="sql"/>, which reads <see cref="PageSql"/>'s page, with that page's parameters bound ($1 to $5);
    /// the caller may bind more after them.
    /// </summary>
    public static NpgsqlCommand PageCommand(NpgsqlConnection conn, string sql, Guid taskId, Guid workspaceId, long after, string[]? codes, int limit) =>
        new(sql, conn)
        {
            Parameters =
            {
                new() { Value = taskId }, new() { Value = workspaceId }, new() { Value = after },
                ErrorsApi.CodesParameter(codes), new() { Value = limit },
            },
        };

    /// <summary>The task's errors per code, from the blocks' summaries.</summary>
    public static async Task<SortedDictionary<string, long>> CountsAsync(NpgsqlConnection conn, Guid taskId, Guid workspaceId, CancellationToken ct)
    {
        var byCode = new SortedDictionary<string, long>(StringComparer.Ordinal);
        await using var cmd = new NpgsqlCommand("""
            SELECT c.code, sum(c.n)
            FROM row_error_blocks b CROSS JOIN LATERAL unnest(b.codes, b.code_counts) c(code, n)
            WHERE b.task_id = $1 AND b.workspace_id = $2
            GROUP BY c.code
            """, conn) { Parameters = { new() { Value = taskId }, new() { Value = workspaceId } } };
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            byCode[r.GetString(0)] = r.GetInt64(1);
        }
        return byCode;
    }
}
