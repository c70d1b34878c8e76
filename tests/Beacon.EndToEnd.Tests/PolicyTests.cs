using System.Diagnostics;
using Beacon.Config;

namespace Beacon.EndToEnd.Tests;

/// <summary>A Momentum policy script (examples/policy.lua) driving real SMTP traffic.</summary>
public sealed class PolicyTests
{
    [Fact]
    public async Task The_example_policy_turns_tracking_on_for_marketing_mail_sent_with_swaks()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Policy.Scripts.Add(Repository.PathOf("examples/policy.lua")));
        var swaks = await RunAsync("swaks", $"--server 127.0.0.1:{beacon.Smtp.Port} --from news@example.org --to Reader@Example.com --add-header \"X-Mail-Class: marketing\" --body hello");
        Assert.Contains("250 2.0.0 OK", swaks, StringComparison.Ordinal);

        var injection = Assert.Single(await beacon.WaitForEventsAsync("injection"));
        Assert.Equal("weekly_digest", (string?)injection["campaign_id"]);
        Assert.Equal("42", (string?)injection["customer_id"]);
        Assert.Equal("""["digest","weekly"]""", injection["rcpt_tags"]!.ToJsonString());
        Assert.Equal("""{"segment":"B"}""", injection["rcpt_meta"]!.ToJsonString());
        Assert.True((bool)injection["open_tracking"]!);
        Assert.True((bool)injection["click_tracking"]!);

        var tracking = Assert.Single(Assert.Single(beacon.Queue).Recipients).Tracking!;
        Assert.Equal(("trk.example.com", "https", "https", 604800L), (tracking.TrackingDomain, tracking.ClickTrackingScheme, tracking.OpenTrackingScheme, tracking.TrackingLinkExpiry));
    }

    [Fact]
    public async Task Other_mail_is_left_untracked_even_when_its_header_asks_because_context_beats_header()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Policy.Scripts.Add(Repository.PathOf("examples/policy.lua")));
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        var reply = await SendAsync(client, "X-MSYS-API: {\"options\": {\"open_tracking\": true}, \"campaign_id\": \"from-header\"}\r\nSubject: receipt\r\n\r\nthanks\r\n");
        Assert.Equal(250, reply.Code);

        var injection = Assert.Single(await beacon.WaitForEventsAsync("injection"));
        Assert.False((bool)injection["open_tracking"]!);
        Assert.Equal("from-header", (string?)injection["campaign_id"]);
    }

    [Fact]
    public async Task Set_code_in_validate_rcptto_refuses_that_recipient_only()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Policy.Scripts.Add(Repository.PathOf("examples/policy.lua")));
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        Assert.Equal("550 5.7.1 Recipient domain is blocked by policy", (await client.CommandAsync("RCPT TO:<x@blocked.example>")).ToString());
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<y@example.com>")).Code);

        var rejection = Assert.Single(await beacon.WaitForEventsAsync("policy_rejection"));
        Assert.Equal("x@blocked.example", (string?)rejection["rcpt_to"]);
    }

    [Fact]
    public async Task A_script_that_never_ends_gets_451_for_that_message_and_the_next_message_is_accepted()
    {
        var script = Path.Combine(Directory.CreateTempSubdirectory("beacon-policy-").FullName, "loop.lua");
        await File.WriteAllTextAsync(script, """
            local mod = {}
            function mod:validate_data(msg, accept, vctx)
              if msg:header("Subject")[1] == "loop" then while true do end end
              msg:header("X-Policy", "checked")
              return msys.core.VALIDATE_CONT
            end
            msys.registerModule("loop", mod)
            """);
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            o.Policy.Scripts.Add(script);
            o.Policy.InstructionBudget = 1_000_000;
        });
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);

        Assert.Equal("451 4.3.0 Policy failure, try again later", (await SendAsync(client, "Subject: loop\r\n\r\nx\r\n")).ToString());
        var accepted = await SendAsync(client, "Subject: fine\r\nX-Keep:  spacing  kept \r\n\r\nbody\r\n");
        Assert.Equal(250, accepted.Code);

        // The policy's header change is in the spool; the fields it did not touch keep their bytes.
        var id = Assert.Single(beacon.Queue).MessageId;
        Assert.Equal("Subject: fine\r\nX-Keep:  spacing  kept \r\nX-Policy: checked\r\n\r\nbody\r\n", beacon.ContentText(id));
        Assert.Equal(beacon.Body(id).Length, Assert.Single(beacon.Queue).Size);
    }

    [Fact]
    public async Task A_script_with_a_syntax_error_stops_start_up_with_file_and_line()
    {
        var script = Path.Combine(Directory.CreateTempSubdirectory("beacon-policy-").FullName, "broken.lua");
        await File.WriteAllTextAsync(script, "local mod = {}\nfunction mod:validate_data(msg\n  return 1\nend\n");
        var (exit, output) = await BeaconProcess.RunAsync("run", "--data", Path.GetDirectoryName(script)!, "--set", "smtp:listeners:0:listen=127.0.0.1:0", "--set", "engagement_tracker:listen=127.0.0.1:0", "--set", "api:listen=127.0.0.1:0", "--set", $"policy:scripts:0={script}");
        Assert.Equal(1, exit);
        Assert.Contains("beacon: invalid configuration:", output, StringComparison.Ordinal);
        Assert.Contains("broken.lua:3:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xsetcontext_from_a_trusted_peer_sets_connection_context()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Extensions.Add("XSETCONTEXT"));
        await using var client = await TestSmtpClient.ConnectAsync(beacon.Smtp);
        Assert.Contains("XSETCONTEXT", (await client.CommandAsync("EHLO trusted.example")).Texts);
        Assert.Equal("250 2.0.0 Context set", (await client.CommandAsync("XSETCONTEXT mo_customer_id=77 smtpapi_campaign_id=spring+20sale smtpapi_open_tracking=1")).ToString());
        Assert.Equal(250, (await SendAsync(client, "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\ny\r\n")).Code);

        var injection = Assert.Single(await beacon.WaitForEventsAsync("injection"));
        Assert.Equal(("77", "spring sale", true), ((string?)injection["customer_id"], (string?)injection["campaign_id"], (bool)injection["open_tracking"]!));
        Assert.Equal("Grüße", (string?)injection["subject"]);
    }

    [Fact]
    public async Task Xsetcontext_is_neither_offered_nor_accepted_for_untrusted_peers()
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            var listener = BeaconInstance.Listener(o);
            listener.Extensions.Add("XSETCONTEXT");
            listener.RelayFrom.Clear();
        });
        await using var client = await TestSmtpClient.ConnectAsync(beacon.Smtp);
        Assert.DoesNotContain("XSETCONTEXT", (await client.CommandAsync("EHLO untrusted.example")).Texts);
        Assert.Equal("500 5.5.1 Command unrecognized", (await client.CommandAsync("XSETCONTEXT mo_customer_id=1")).ToString());
    }

    [Fact]
    public async Task Connect_ehlo_and_mailfrom_hooks_decide_at_their_command_and_mailfrom_context_reaches_the_message()
    {
        var script = Path.Combine(Directory.CreateTempSubdirectory("beacon-policy-").FullName, "hooks.lua");
        await File.WriteAllTextAsync(script, """
            require("msys.core")
            local mod = {}
            function mod:validate_connect(msg, accept, vctx)
              msg:context_set(msys.core.ECMESS_CTX_CONN, "mo_customer_id", "9")
              return msys.core.VALIDATE_CONT
            end
            function mod:validate_ehlo(msg, name, accept, vctx)
              if name == "spammer.example" then vctx:set_code(550, "5.7.1 Go away") end
              return msys.core.VALIDATE_CONT
            end
            function mod:validate_mailfrom(msg, sender, accept, vctx)
              if sender == "" then vctx:set_code(451, "4.7.1 Try later") return msys.core.VALIDATE_DONE end
              msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_campaign_id", "from-" .. sender:match("^[^@]+"))
              return msys.core.VALIDATE_CONT
            end
            msys.registerModule("hooks", mod)
            """);
        await using var beacon = await BeaconInstance.StartAsync(o => o.Policy.Scripts.Add(script));
        await using var client = await TestSmtpClient.ConnectAsync(beacon.Smtp);

        Assert.Equal("550 5.7.1 Go away", (await client.CommandAsync("EHLO spammer.example")).ToString());
        Assert.Equal(250, (await client.CommandAsync("EHLO fine.example")).Code);
        Assert.Equal("451 4.7.1 Try later", (await client.CommandAsync("MAIL FROM:<>")).ToString());
        Assert.Equal(250, (await SendAsync(client, "Subject: x\r\n\r\ny\r\n", from: "alice@example.org")).Code);

        var injection = Assert.Single(await beacon.WaitForEventsAsync("injection"));
        Assert.Equal(("from-alice", "9"), ((string?)injection["campaign_id"], (string?)injection["customer_id"]));
    }

    [Fact]
    public async Task Validate_connect_can_refuse_the_greeting()
    {
        var script = Path.Combine(Directory.CreateTempSubdirectory("beacon-policy-").FullName, "connect.lua");
        await File.WriteAllTextAsync(script, """
            local mod = {}
            function mod:validate_connect(msg, accept, vctx) vctx:set_code(554, "5.7.1 No service for you") return msys.core.VALIDATE_DONE end
            msys.registerModule("connect", mod)
            """);
        await using var beacon = await BeaconInstance.StartAsync(o => o.Policy.Scripts.Add(script));
        await using var client = await TestSmtpClient.OpenAsync(beacon.Smtp);
        Assert.Equal("554 5.7.1 No service for you", (await client.ReadReplyAsync()).ToString());
        Assert.True(await client.IsClosedByServerAsync());
    }

    internal static async Task<TestReply> SendAsync(TestSmtpClient client, string content, string from = "sender@example.org", string to = "rcpt@example.com")
    {
        Assert.Equal(250, (await client.CommandAsync($"MAIL FROM:<{from}>")).Code);
        Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{to}>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync(content + ".\r\n");
        return await client.ReadReplyAsync();
    }

    private static async Task<string> RunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return await output + await error;
    }
}
