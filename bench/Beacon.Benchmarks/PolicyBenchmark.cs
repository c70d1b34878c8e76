using System.Diagnostics;
using Beacon.Config;
using Beacon.Ingress;
using Beacon.Policy;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Benchmarks;

/// <summary>
/// The cost of one policy hook call: examples/policy.lua's validate_data_spool_each_rcpt through the pooled Lua
/// states, beside the same decisions written in C# (the reference: what the call would cost without Lua).
/// Both run single-threaded and on every core; the message has 12 header fields, like a typical newsletter.
/// </summary>
internal static class PolicyBenchmark
{
    public static void Run(string script, int calls)
    {
        using var policy = new LuaPolicy(new PolicyOptions { Scripts = [script] }, NullLogger<LuaPolicy>.Instance);
        Console.WriteLine($"policy call benchmark: {script}, {calls} calls per measurement, {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"hook",-40}  {"threads",7}  {"µs/call",8}  {"calls/s",9}");
        foreach (var threads in new[] { 1, Environment.ProcessorCount })
        {
            var lua = Measure(calls, threads, message => policy.Run(PolicyPhase.DataSpoolEachRcpt, message));
            var native = Measure(calls, threads, NativeEquivalent);
            Console.WriteLine($"{"lua validate_data_spool_each_rcpt",-40}  {threads,7}  {lua,8:F1}  {threads * 1e6 / lua,9:F0}");
            Console.WriteLine($"{"C# reference (same decisions)",-40}  {threads,7}  {native,8:F1}  {threads * 1e6 / native,9:F0}");
            Console.WriteLine($"ratio lua / C#: {lua / native:F1}");
        }
    }

    /// <summary>Microseconds per call, after a warm-up of a tenth of the calls.</summary>
    private static double Measure(int calls, int threads, Func<PolicyMessage, PolicyVerdict> call)
    {
        Parallel.For(0, calls / 10, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => call(NewMessage(i)));
        var clock = Stopwatch.StartNew();
        Parallel.For(0, calls, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => call(NewMessage(i)));
        return clock.Elapsed.TotalMicroseconds * threads / calls;
    }

    private static PolicyMessage NewMessage(int i) => new()
    {
        Connection = new Dictionary<string, string> { ["mo_customer_id"] = "7" },
        Message = [],
        Headers =
        [
            HeaderField.Create("Received", "from client.example ([127.0.0.1]) by mx.example (Beacon) with ESMTP id 0123456789abcdef0123"),
            HeaderField.Create("From", "News <news@example.org>"),
            HeaderField.Create("To", $"reader{i}@example.com"),
            HeaderField.Create("Subject", "This week's digest"),
            HeaderField.Create("Date", "Fri, 27 Nov 2026 01:00:00 +0000"),
            HeaderField.Create("Message-ID", $"<{i}@example.org>"),
            HeaderField.Create("MIME-Version", "1.0"),
            HeaderField.Create("Content-Type", "multipart/alternative; boundary=\"b1\""),
            HeaderField.Create("List-Unsubscribe", "<https://example.org/u>"),
            HeaderField.Create("X-Mail-Class", i % 2 == 0 ? "marketing" : "receipt"),
            HeaderField.Create("X-Campaign", "digest"),
            HeaderField.Create("X-Mailer", "bench"),
        ],
        MailFrom = "news@example.org",
        RcptTo = $"reader{i}@example.com",
    };

    private static PolicyVerdict NativeEquivalent(PolicyMessage message)
    {
        var marketing = message.Headers!.FirstOrDefault(h => h.Name.Equals("X-Mail-Class", StringComparison.OrdinalIgnoreCase))?.Value == "marketing";
        var context = message.Message;
        if (marketing)
        {
            context["smtpapi_open_tracking"] = "true";
            context["smtpapi_click_tracking"] = "1";
            context["smtpapi_tracking_domain"] = "trk.example.com";
            context["smtpapi_click_tracking_scheme"] = "https";
            context["smtpapi_open_tracking_scheme"] = "https";
            context["smtpapi_tracking_link_expiry"] = "604800";
            context["smtpapi_campaign_id"] = "weekly_digest";
            context["smtpapi_tags"] = """["digest","weekly"]""";
            context["smtpapi_metadata"] = """{"segment":"B"}""";
        }
        else
        {
            context["smtpapi_open_tracking"] = "false";
            context["smtpapi_click_tracking"] = "false";
        }

        message.Connection["mo_customer_id"] = "42";
        return PolicyVerdict.Continue;
    }
}
