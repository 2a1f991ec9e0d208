using Quartz;

namespace Ingestion.Api.Infrastructure.Jobs;

internal sealed class QuartzTaskQueue(ISchedulerFactory schedulers) : ITaskQueue
{
    internal const string Group = "tasks";

    public async Task EnqueueAsync(Guid taskId, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var key = taskId.ToString();
        var job = JobBuilder.Create<ProcessTaskJob>()
            .WithIdentity(key, Group)
            .UsingJobData(ProcessTaskJob.TaskIdKey, key)
            // Without recovery a job whose node is killed is silently deleted; with it another node re-runs it.
            .RequestRecovery(true)
            .Build();
        var trigger = TriggerBuilder.Create()
            .WithIdentity(key, Group)
            .ForJob(job)
            .StartNow()
            // A failure (database restarting, say) is retried; the runner resumes from its last checkpoint.
            .WithRetryPolicy(RetryPolicy.Exponential(8, TimeSpan.FromSeconds(1), 2, TimeSpan.FromMinutes(1)))
            .Build();
        try
        {
            await scheduler.ScheduleJob(job, trigger, new ScheduleJobOptions(), ct);
        }
        catch (ObjectAlreadyExistsException)
        {
            // Already queued or running: queuing is idempotent.
        }
    }

    public async Task<bool> IsEnqueuedAsync(Guid taskId, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        return await scheduler.Exists(new JobKey(taskId.ToString(), Group), ct);
    }

    public async Task<bool> IsRunningAsync(CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        return scheduler.Status == SchedulerStatus.Running;
    }
}

[DisallowConcurrentExecution]
internal sealed class ProcessTaskJob(ITaskRunner runner) : IJob
{
    internal const string TaskIdKey = "task_id";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var taskId = Guid.Parse(context.MergedJobDataMap.GetString(TaskIdKey)!);
        await runner.RunAsync(taskId, cancellationToken);
    }
}
