using Ingestion.Api.Infrastructure.Database;
using Quartz;

namespace Ingestion.Api.Infrastructure.Jobs;

/// <summary>Wires Quartz.NET in; the only file besides its two neighbours that knows Quartz exists.</summary>
public static class QuartzJobsExtensions
{
    public static IHostApplicationBuilder AddQuartzTaskQueue(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();
        var connectionString = builder.Configuration.GetConnectionString(DatabaseExtensions.ConnectionStringName)!;

        builder.Services.AddSingleton<ITaskQueue, QuartzTaskQueue>();
        builder.AddQuartz(q =>
        {
            q.ConfigureScheduler(s =>
            {
                // One name for every node: nodes sharing a name and a database form one cluster.
                s.InstanceName = "ingestion";
                s.GenerateInstanceId = true;
                s.IdleWaitTime = options.IdleWait;
            });
            q.UseDefaultThreadPool(Math.Max(1, options.WorkerCount));
            q.AddJobType<ProcessTaskJob>();
            q.UsePersistentStore(store =>
            {
                store.UsePostgres(connectionString);
                store.UseSystemTextJsonSerializer();
                store.ProvisionSchema();
                store.UseClustering(c =>
                {
                    c.CheckinInterval = options.CheckinInterval;
                    c.CheckinMisfireThreshold = options.CheckinMisfireThreshold;
                });
            });
        });
        builder.Services.AddQuartzHostedService(o =>
        {
            o.WaitForJobsToComplete = true;
            o.AutoStart = options.RunWorkers;
        });
        return builder;
    }
}
