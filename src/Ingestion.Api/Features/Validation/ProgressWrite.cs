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

    /// <summary>Runs <paramref name="cmd"/>, an UPDATE of the task's progress, and disposes it; a failure is dropped.</summary>
    public static async Task TryAsync(NpgsqlCommand cmd)
    {
        await using (cmd)
        {
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
