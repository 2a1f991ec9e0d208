using System.Text;
using Npgsql;

namespace Ingestion.Api.Features.Errors;

/// <summary>
/// The failed rows of a task as a CSV a user can fix and upload again: each row as it was uploaded, then where
/// and why it failed. Streamed from the database, so a report of millions of rows holds one row in memory.
/// </summary>
public sealed class ErrorReportCsv(NpgsqlDataSource db, Guid workspaceId, Guid datasetId, Guid taskId, string[]? errorCodes)
    : IResult
{
    public const string Description = """
        The failed rows of the task, one CSV line each in file order (RFC 4180, UTF-8 without BOM, CRLF line ends),
        with the header `media_id,value,row_index,error_code,error_message`. The first column is `file_name` instead
        when every failed row named its item by file name; otherwise a row that named a registered item by file
        name gets that item's media_id. `value` is the value as uploaded: strings raw, numbers as
        written, arrays (multi-select enums) as JSON text; empty when the row had no value. Fix the values, drop
        the rows you do not want (for example `value_already_set` ones: values are immutable), and upload the file to
        a follow-up task of the field (`POST …/custom_metadata/fields/{field_name}/tasks`); extra columns are ignored.
        File-level errors are not rows and are left out; see the JSON list. `error_code` (repeatable) keeps only
        those codes.

        Formula neutralisation: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a
        leading apostrophe (`'`), so a spreadsheet shows it as text instead of running it. Plain numbers such as
        `-21.5` are left as they are. Remove the apostrophe from a value that really starts with such a character
        before uploading it again.
        """;

    private const int ReportPageRows = 4096;

    public async Task ExecuteAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        await using var conn = await db.OpenConnectionAsync(ct);
        // file_name heads the first column only if every failed row named its item by file name: the first row that
        // did not settles it, so a report of rows named by id does not read every block first.
        bool byFileName;
        await using (var cmd = new NpgsqlCommand("""
            SELECT EXISTS (SELECT 1 FROM row_errors
                           WHERE task_id = $1 AND workspace_id = $2 AND NOT is_file_error AND ($3::text[] IS NULL OR error_code = ANY($3)))
               AND NOT EXISTS (SELECT 1 FROM row_errors
                               WHERE task_id = $1 AND workspace_id = $2 AND NOT is_file_error AND file_name IS NULL
                                 AND ($3::text[] IS NULL OR error_code = ANY($3)))
            """, conn))
        {
            AddFilter(cmd);
            byFileName = (bool)(await cmd.ExecuteScalarAsync(ct))!;
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"task-{taskId}-errors.csv\"";
        await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false), 64 * 1024);
        var line = new StringBuilder();
        CsvCells.AppendRow(line, byFileName ? "file_name" : "media_id", "value", "row_index", "error_code", "error_message");

        // In a report that needs the media_id column, a row that named its item by a registered file name is
        // given that item's id, so the row can be sent back as it stands: a key probe per error (media_id_by_name,
        // migration 0020), whatever the statistics say about a newly registered dataset.
        // The report is read a page at a time, as the error list pages, so its first rows go out at once: sorting a
        // task's every error before the first would take seconds for millions.
        var sql = $"""
            SELECT coalesce(media_id_by_name($6, e.file_name)::text, e.media_id), e.file_name, e.value, e.row_index, e.error_code,
                   e.reason, e.is_file_error
            FROM ({RowErrorBlocks.PageSql}) e
            ORDER BY e.row_index
            """;
        long after = -1;
        for (var read = ReportPageRows; read == ReportPageRows;)
        {
            await using var rows = RowErrorBlocks.PageCommand(conn, sql, taskId, workspaceId, after, errorCodes, ReportPageRows);
            rows.Parameters.Add(new NpgsqlParameter { Value = datasetId });
            await using var r = await rows.ExecuteReaderAsync(ct);
            for (read = 0; await r.ReadAsync(ct); read++)
            {
                after = r.GetInt64(3);
                if (r.GetBoolean(6))
                {
                    continue;
                }
                var item = byFileName || r.IsDBNull(0) ? ErrorsApi.Text(r, 1) : r.GetString(0);
                CsvCells.AppendRow(line, item, ErrorsApi.Text(r, 2), after.ToString(), r.GetString(4), r.GetString(5));
                if (line.Length >= 32 * 1024)
                {
                    await writer.WriteAsync(line, ct);
                    line.Clear();
                }
            }
        }
        await writer.WriteAsync(line, ct);
    }

    private void AddFilter(NpgsqlCommand cmd)
    {
        cmd.Parameters.Add(new NpgsqlParameter { Value = taskId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = workspaceId });
        cmd.Parameters.Add(ErrorsApi.CodesParameter(errorCodes));
    }
}
