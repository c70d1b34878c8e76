using System.Diagnostics;
using Beacon.Rendering.Benchmarks;
using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "--quick")
{
    // A plain loop for profiling (dotnet-trace, perf) without the BenchmarkDotNet harness.
    var benchmarks = new RenderBenchmarks { Message = args.Length > 1 ? args[1] : "newsletter-50KB-qp" };
    benchmarks.Setup();
    for (int round = 0; round < 3; round++)
    {
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 200; i++)
            benchmarks.MimeKitParseAndWrite();
        double mimekit = watch.Elapsed.TotalMicroseconds / 200;
        watch.Restart();
        for (int i = 0; i < 200; i++)
            benchmarks.Render();
        double render = watch.Elapsed.TotalMicroseconds / 200;
        watch.Restart();
        for (int i = 0; i < 200; i++)
            benchmarks.RenderWithoutTracking();
        long before = GC.GetAllocatedBytesForCurrentThread();
        benchmarks.Render();
        long rendered = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        benchmarks.RenderWithoutTracking();
        long copied = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"message {benchmarks.MessageLength} bytes; allocated {rendered} (render), {copied} (without tracking)");
        Console.WriteLine($"MimeKit {mimekit:F0} us, render {render:F0} us, render without tracking {watch.Elapsed.TotalMicroseconds / 200:F0} us");
    }

    return;
}

BenchmarkSwitcher.FromAssembly(typeof(RenderBenchmarks).Assembly).Run(args);
