using System.Globalization;
using Beacon.Benchmarks;

// Spool commit throughput (commits/second through SpoolStore, fsync durability).
// Usage: dotnet run -c Release --project bench/Beacon.Benchmarks -- [--messages 5000] [--writers 20]
//        [--size 10240] [--rounds 5] [--dir PATH]   (PATH: where the temporary data dirs go; default the temp dir)
// Policy call cost: dotnet run -c Release --project bench/Beacon.Benchmarks -- policy [SCRIPT] [CALLS]
if (args.Length > 0 && args[0] == "policy")
{
    PolicyBenchmark.Run(args.Length > 1 ? args[1] : "examples/policy.lua", args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100_000);
    return 0;
}

// Event store: dotnet run -c Release --project bench/Beacon.Benchmarks -- events [COUNT] [FULL|NORMAL] [DIR]
if (args.Length > 0 && args[0] == "events")
{
    await EventsBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000, args.Length > 2 ? args[2] : "FULL", args.Length > 3 ? args[3] : null).ConfigureAwait(false);
    return 0;
}

// PostgreSQL ingestion: dotnet run -c Release --project bench/Beacon.Benchmarks -- events-pg CONNECTION_STRING [COUNT]
if (args.Length > 1 && args[0] == "events-pg")
{
    await EventsBenchmark.RunPostgresAsync(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200_000).ConfigureAwait(false);
    return 0;
}

// The tracker's HTTP layer alone (a canned 302, for wrk): dotnet run -c Release --project bench/Beacon.Benchmarks -- tracker-http PORT
if (args.Length > 1 && args[0] == "tracker-http")
{
    await TrackerHttpBenchmark.RunAsync(int.Parse(args[1], CultureInfo.InvariantCulture)).ConfigureAwait(false);
    return 0;
}

if (args.Length % 2 != 0)
{
    Console.Error.WriteLine($"usage: Beacon.Benchmarks [--messages N] [--writers N] [--size OCTETS] [--rounds N] [--dir PATH] (got a lone '{args[^1]}')");
    return 2;
}

var settings = CommitBenchmark.Settings.Default;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var value = args[i + 1];
    settings = args[i] switch
    {
        "--messages" => settings with { Messages = int.Parse(value, CultureInfo.InvariantCulture) },
        "--writers" => settings with { Writers = int.Parse(value, CultureInfo.InvariantCulture) },
        "--size" => settings with { Size = int.Parse(value, CultureInfo.InvariantCulture) },
        "--rounds" => settings with { Rounds = int.Parse(value, CultureInfo.InvariantCulture) },
        "--dir" => settings with { Directory = value },
        _ => throw new ArgumentException($"unknown option {args[i]}"),
    };
}

await new CommitBenchmark(settings).RunAsync().ConfigureAwait(false);
return 0;
