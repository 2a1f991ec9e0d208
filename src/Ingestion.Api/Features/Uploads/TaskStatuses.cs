namespace Ingestion.Api.Features.Uploads;

public static class TaskStatuses
{
    public const string Init = "INIT";

    /// <summary>Internal: the upload is being stored. Shown as INIT; a second upload meanwhile gets 409.</summary>
    public const string Uploading = "UPLOADING";

    public const string Queued = "QUEUED";
    public const string InProgress = "IN_PROGRESS";
    public const string Completed = "COMPLETED";
    public const string CompletedWithErrors = "COMPLETED_WITH_ERRORS";
    public const string Failed = "FAILED";

    public static bool IsFinished(string status) => status is Completed or CompletedWithErrors or Failed;

    /// <summary>The same as an SQL list, for <c>status IN</c>.</summary>
    public const string FinishedSql = $"('{Completed}', '{CompletedWithErrors}', '{Failed}')";

    public static string Public(string status) => status == Uploading ? Init : status;
}
