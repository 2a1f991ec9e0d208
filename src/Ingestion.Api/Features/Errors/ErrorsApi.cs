using System.Text;
using Ingestion.Api.Features.Uploads;
using Ingestion.Api.Features.Validation;
using Ingestion.Api.Infrastructure.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Npgsql;
using NpgsqlTypes;

namespace Ingestion.Api.Features.Errors;

public sealed record RowErrorItem(long RowIndex, string? MediaId, string? FileName, string? Value, string ErrorCode, string Reason,
    long? Line, long? Column, bool IsFileError);

public sealed record ErrorSummary(long Total, IReadOnlyDictionary<string, long> ByCode);

public sealed record ErrorPage(Guid TaskId, string Status, ErrorSummary Summary, IReadOnlyList<RowErrorItem> Errors, string? NextCursor);

public static class ErrorsApi
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
    private const string CursorPrefix = "after:";

    public static IEndpointRouteBuilder MapErrorsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/datasets/{dataset_id:guid}/custom_metadata/tasks/{task_id:guid}").WithTags("Custom metadata");
        group.MapGet("/errors", ListAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("Every row error of a task, paged by row_index, with counts per error code")
            .WithDescription($"""
                Every error of the task, not a sample, in file order. Pages are keyset pages: pass `next_cursor` back as
                `cursor` until it is null; pages never skip or repeat a row, even while the task is still running.
                `limit` is {DefaultLimit} by default and at most {MaxLimit}. `error_code` (repeatable) keeps only those codes;
                `summary` always counts every error of the task by code. A file-level error (the file itself is broken
                from that point) is listed at the index of the first row that could not be read, with `is_file_error: true`.
                With `Accept: text/csv` this URL answers the same report as `errors.csv`.

                Error codes:

                {RowErrorCodes.CatalogueTable()}
                """)
            .Produces<ErrorPage>(StatusCodes.Status200OK, "application/json", "text/csv");
        group.MapGet("/errors.csv", CsvAsync).RequireAuthorization(Scopes.Read)
            .WithSummary("The failed rows as a CSV, ready to fix and upload again")
            .WithDescription(ErrorReportCsv.Description)
            .Produces<string>(StatusCodes.Status200OK, "text/csv");
        return app;
    }

    private static async Task<Results<Ok<ErrorPage>, ErrorReportCsv, ProblemHttpResult>> ListAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromRoute(Name = "task_id")] Guid taskId,
        [FromQuery(Name = "error_code")] string[]? errorCodes, [FromQuery(Name = "cursor")] string? cursor,
        [FromQuery(Name = "limit")] int? limit, HttpContext http, NpgsqlDataSource db, CancellationToken ct)
    {
        if (WantsCsv(http.Request))
        {
            return (await CsvAsync(datasetId, taskId, errorCodes, http, db, ct)).Result switch
            {
                ErrorReportCsv csv => csv,
                var problem => (ProblemHttpResult)problem,
            };
        }
        if (CheckCodes(errorCodes) is { } badCode)
        {
            return badCode;
        }
        var pageSize = limit ?? DefaultLimit;
        if (pageSize is < 1 or > MaxLimit)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid limit",
                detail: $"limit {pageSize} is out of range: send 1 to {MaxLimit} (the default is {DefaultLimit}).");
        }
        long after = -1;
        if (cursor is not null && !TryReadCursor(cursor, out after))
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid cursor",
                detail: "The cursor was not made by this endpoint. Pass back next_cursor from the previous page unchanged, or leave it out to start at the first error.");
        }

        var workspaceId = http.User.WorkspaceId();
        await using var conn = await db.OpenConnectionAsync(ct);
        var status = await TaskStatusAsync(conn, workspaceId, datasetId, taskId, ct);
        if (status is null)
        {
            return UploadsApi.TaskNotFound(taskId);
        }

        var errors = await RowErrorBlocks.PageAsync(conn, taskId, workspaceId, after, errorCodes, pageSize + 1, ct);
        string? next = null;
        if (errors.Count > pageSize)
        {
            errors.RemoveAt(pageSize);
            next = WriteCursor(errors[^1].RowIndex);
        }

        var byCode = await RowErrorBlocks.CountsAsync(conn, taskId, workspaceId, ct);
        return TypedResults.Ok(new ErrorPage(taskId, status, new ErrorSummary(byCode.Values.Sum(), byCode), errors, next));
    }

    private static async Task<Results<ErrorReportCsv, ProblemHttpResult>> CsvAsync(
        [FromRoute(Name = "dataset_id")] Guid datasetId, [FromRoute(Name = "task_id")] Guid taskId,
        [FromQuery(Name = "error_code")] string[]? errorCodes, HttpContext http, NpgsqlDataSource db, CancellationToken ct)
    {
        if (CheckCodes(errorCodes) is { } badCode)
        {
            return badCode;
        }
        var workspaceId = http.User.WorkspaceId();
        await using var conn = await db.OpenConnectionAsync(ct);
        if (await TaskStatusAsync(conn, workspaceId, datasetId, taskId, ct) is null)
        {
            return UploadsApi.TaskNotFound(taskId);
        }
        return new ErrorReportCsv(db, workspaceId, datasetId, taskId, errorCodes is { Length: > 0 } ? errorCodes : null);
    }

    internal static NpgsqlParameter CodesParameter(string[]? codes) => new()
    {
        Value = codes is { Length: > 0 } ? codes : DBNull.Value,
        NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
    };

    private static ProblemHttpResult? CheckCodes(string[]? codes)
    {
        var unknown = codes?.Where(c => !RowErrorCodes.Catalogue.ContainsKey(c)).ToList();
        return unknown is { Count: > 0 }
            ? TypedResults.Problem(statusCode: 400, title: "Unknown error code",
                detail: $"error_code {string.Join(", ", unknown.Select(c => $"'{c}'"))} is not a known code. " +
                        $"Use one of: {string.Join(", ", RowErrorCodes.Catalogue.Keys)} (see docs/error-codes.md).")
            : null;
    }

    private static async Task<string?> TaskStatusAsync(NpgsqlConnection conn, Guid workspaceId, Guid datasetId, Guid taskId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT status FROM tasks WHERE task_id = $1 AND dataset_id = $2 AND workspace_id = $3", conn)
        {
            Parameters = { new() { Value = taskId }, new() { Value = datasetId }, new() { Value = workspaceId } },
        };
        return await cmd.ExecuteScalarAsync(ct) is string s ? TaskStatuses.Public(s) : null;
    }

    /// <summary>CSV when the client prefers text/csv to JSON; JSON otherwise.</summary>
    private static bool WantsCsv(HttpRequest request)
    {
        var best = request.GetTypedHeaders().Accept
            .Where(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase)
                        || a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(a => a.Quality ?? 1)
            .FirstOrDefault();
        return best is not null && best.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase) && (best.Quality ?? 1) > 0;
    }

    // Opaque to clients so the paging key can change without breaking them.
    private static string WriteCursor(long rowIndex) => WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes(CursorPrefix + rowIndex));

    private static bool TryReadCursor(string cursor, out long rowIndex)
    {
        rowIndex = -1;
        try
        {
            var text = Encoding.UTF8.GetString(WebEncoders.Base64UrlDecode(cursor));
            return text.StartsWith(CursorPrefix, StringComparison.Ordinal) && long.TryParse(text.AsSpan(CursorPrefix.Length), out rowIndex) && rowIndex >= 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    internal static string? Text(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}
