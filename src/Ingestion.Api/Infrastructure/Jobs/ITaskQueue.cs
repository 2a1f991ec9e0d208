namespace Ingestion.Api.Infrastructure.Jobs;

/// <summary>
/// The one seam between the product and its background-job engine: tasks are queued by id and run by an
/// <see cref="ITaskRunner"/> on whichever node picks them up. Nothing outside Infrastructure/Jobs names the engine.
/// </summary>
public interface ITaskQueue
{
    /// <summary>Queues the processing of a task. Queuing a task that is already queued or running does nothing.</summary>
    Task EnqueueAsync(Guid taskId, CancellationToken ct);

    /// <summary>Whether the engine holds the task (queued, running, or waiting for recovery after a node died).</summary>
    Task<bool> IsEnqueuedAsync(Guid taskId, CancellationToken ct);

    /// <summary>Whether this node's workers are running (for readiness).</summary>
    Task<bool> IsRunningAsync(CancellationToken ct);
}

/// <summary>The product's side of the seam: does the work of one queued task. Must be idempotent: it may run again after a crash.</summary>
public interface ITaskRunner
{
    Task RunAsync(Guid taskId, CancellationToken ct);
}

public sealed class JobsOptions
{
    public const string Section = "Ingestion:Jobs";

    /// <summary>Whether this node runs workers. An api-only node sets false and only queues.</summary>
    public bool RunWorkers { get; set; } = true;

    /// <summary>Tasks processed at once on this node.</summary>
    public int WorkerCount { get; set; } = 2;

    /// <summary>How long an idle worker waits before looking for queued tasks again (at least 1 s).</summary>
    public TimeSpan IdleWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a node says it is alive; a node silent for interval + threshold is presumed dead and its tasks are taken over.</summary>
    public TimeSpan CheckinInterval { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan CheckinMisfireThreshold { get; set; } = TimeSpan.FromSeconds(5);
}
