using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Ingestion.Bench;

// Subcommands: ingest (end to end through the HTTP API against its own PostgreSQL), query (filters on a million items),
// micro (BenchmarkDotNet).
try
{
    return args.FirstOrDefault() switch
    {
        "ingest" => await IngestBenchmark.RunAsync(args[1..]),
        "query" => await QueryBenchmark.RunAsync(args[1..]),
        "micro" => RunMicro(args[1..]),
        _ => Usage(),
    };
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    // A mistyped option or value: say which, and how the commands are written.
    Console.Error.WriteLine(e.Message);
    return Usage();
}

static int RunMicro(string[] args)
{
    // In process: BenchmarkDotNet 0.14 predates .NET 10 and cannot generate a project for it; the job is short because
    // the machine is shared and the figures are read as ratios between types, not as absolutes.
    var config = DefaultConfig.Instance.AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithIterationCount(8));
    BenchmarkSwitcher.FromAssembly(typeof(IngestBenchmark).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: dotnet run -c Release --project bench/Ingestion.Bench -- <command> [options]
          ingest [--rows 1000000] [--repeat 5] [--types float,enum] [--baselines on|off] [--row-by-row-sample 100000] [--keep]
          query  [--items 1000000] [--runs N]
          micro  [BenchmarkDotNet options, e.g. --filter *Parser*]
        """);
    return 2;
}
