using Ingestion.Bench;

// Benchmarks of the service, one subcommand each: dotnet run -c Release --project bench/Ingestion.Bench -- <command> [options]
return args.FirstOrDefault() switch
{
    "query" => await QueryBenchmark.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("Usage: Ingestion.Bench query [--items N] [--runs N]");
    return 2;
}
