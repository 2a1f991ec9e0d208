using Npgsql;

namespace Ingestion.Api.Features.Validation;

/// <summary>
/// How a job writes the progress its status shows (LedgerProgress, IndexBuildProgress). Progress is for the user's eyes
/// only: a write that fails is dropped without failing the work it reports on, whose own connection will report the
/// database's trouble soon enough.
/// </summary>
internal static class ProgressWrite
{
    /// <summary>What a progress read or write may fail with and be dropped for.</summary>
    public static bool IsDroppable(Exception e) => e is NpgsqlException or InvalidOperationException or TimeoutException;

    /// <summary>
    /// Runs <paramref name="cmd"/>, an UPDATE of one progress column of task $1 to $2 (a real, 0 to 1), with
    /// <paramref name="taskId"/> and <paramref name="fraction"/>, and disposes it; a failure is dropped.
    /// </summary>
    public static async Task TryAsync(NpgsqlCommand cmd, Guid taskId, double fraction)
    {
        await using (cmd)
        {
            cmd.Parameters.Add(new() { Value = taskId });
            cmd.Parameters.Add(new() { Value = (float)fraction });
            try
            {
                await cmd.ExecuteNonQueryAsync();
            }
            catch (Exception e) when (IsDroppable(e))
            {
            }
        }
    }
}
