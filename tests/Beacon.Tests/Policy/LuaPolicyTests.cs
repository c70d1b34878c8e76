using Beacon.Config;
using Beacon.Ingress;
using Beacon.Policy;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Tests.Policy;

public sealed class LuaPolicyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("beacon-lua-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_momentum_example_script_runs_unchanged_and_sets_context_per_recipient()
    {
        using var policy = Load(MomentumExample);
        var marketing = DataMessage(("X-Mail-Class", "marketing"));
        Assert.Equal(PolicyVerdict.Continue, policy.Run(PolicyPhase.DataSpoolEachRcpt, marketing));
        Assert.Equal("true", marketing.Message["smtpapi_open_tracking"]);
        Assert.Equal("""["digest","weekly"]""", marketing.Message["smtpapi_tags"]);
        Assert.Equal("42", marketing.Connection["mo_customer_id"]);

        var other = DataMessage(("X-Mail-Class", "transactional"));
        policy.Run(PolicyPhase.DataSpoolEachRcpt, other);
        Assert.Equal("false", other.Message["smtpapi_click_tracking"]);
        Assert.False(other.Message.ContainsKey("smtpapi_campaign_id"));
    }

    [Fact]
    public void Set_code_refuses_with_the_scripts_reply()
    {
        using var policy = Load("""
            local mod = {}
            function mod:validate_rcptto(msg, rcpt, accept, vctx)
              if rcpt:find("blocked") then vctx:set_code(550, "5.1.1 No such user here") return msys.core.VALIDATE_DONE end
              return msys.core.VALIDATE_CONT
            end
            msys.registerModule("rcpt", mod)
            """);
        var refused = policy.Run(PolicyPhase.RcptTo, new PolicyMessage { Connection = [], Message = [], Argument = "blocked@example.com" });
        Assert.Equal("550 5.1.1 No such user here", refused.Refusal!.ToString());
        Assert.Null(policy.Run(PolicyPhase.RcptTo, new PolicyMessage { Connection = [], Message = [], Argument = "ok@example.com" }).Refusal);
        Assert.False(policy.Handles(PolicyPhase.Data));
    }

    [Fact]
    public void Headers_can_be_read_set_appended_and_removed_and_untouched_fields_keep_their_bytes()
    {
        using var policy = Load("""
            local mod = {}
            function mod:validate_data(msg, accept, vctx)
              local subject = msg:header("Subject")[1]
              msg:header("X-Seen-Subject", subject)
              msg:header("X-Trace", "two", "append")
              msg:header("X-Remove-Me", nil)
              msg:header("X-Replace", "new")
              return msys.core.VALIDATE_CONT
            end
            msys.registerModule("headers", mod)
            """);
        var message = DataMessage(("Subject", "hello\r\n world"), ("X-Remove-Me", "a"), ("X-Replace", "old"), ("X-Replace", "old2"), ("X-Remove-Me", "b"), ("X-Trace", "one"));
        var subjectBytes = message.Headers![0].Raw;
        policy.Run(PolicyPhase.Data, message);

        Assert.True(message.HeadersChanged);
        Assert.Equal(["Subject", "X-Replace", "X-Trace", "X-Seen-Subject", "X-Trace"], message.Headers!.Select(h => h.Name));
        Assert.Same(subjectBytes, message.Headers[0].Raw);
        Assert.Equal("new", message.Headers[1].Value);
        Assert.Equal("hello world", message.Headers[3].Value);
    }

    [Theory]
    [InlineData("while true do end")]
    [InlineData("while true do pcall(function() while true do end end) end")]
    [InlineData("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end")]
    [InlineData("local s = string.rep('x', 1 << 30)")]
    [InlineData("os.exit(1)")]
    [InlineData("io.open('/etc/passwd')")]
    [InlineData("require('socket')")]
    [InlineData("load('return 1')()")]
    [InlineData("error('deliberate')")]
    public void A_hostile_or_broken_script_fails_the_call_with_451_and_the_next_call_works(string body)
    {
        using var policy = Load($$"""
            local mod = {}
            function mod:validate_data(msg, accept, vctx)
              if msg:header("X-Attack")[1] == "yes" then {{body}} end
              msg:context_set(msys.core.ECMESS_CTX_MESS, "checked", "1")
              return msys.core.VALIDATE_CONT
            end
            msys.registerModule("hostile", mod)
            """, budget: 2_000_000, memoryMb: 32);

        var attack = policy.Run(PolicyPhase.Data, DataMessage(("X-Attack", "yes")));
        Assert.IsType<PolicyVerdict.Failed>(attack);
        Assert.Equal("451 4.3.0 Policy failure, try again later", attack.Refusal!.ToString());

        var next = DataMessage(("X-Attack", "no"));
        Assert.Equal(PolicyVerdict.Continue, policy.Run(PolicyPhase.Data, next));
        Assert.Equal("1", next.Message["checked"]);
    }

    [Fact]
    public void A_runaway_script_reports_where_it_stopped()
    {
        using var policy = Load("""
            local mod = {}
            function mod:validate_connect(msg, accept, vctx)
              local x = nil
              return x.field
            end
            msys.registerModule("m", mod)
            """);
        var failed = Assert.IsType<PolicyVerdict.Failed>(policy.Run(PolicyPhase.Connect, new PolicyMessage { Connection = [], Message = [] }));
        Assert.Contains("policy.lua:4:", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_exhausted_budget_names_the_line_that_was_running()
    {
        using var policy = Load("local mod = {}\nfunction mod:validate_data(msg, accept, vctx)\n  local n = 0\n  while true do n = n + 1 end\nend\nmsys.registerModule('m', mod)", budget: 100_000);
        var failed = Assert.IsType<PolicyVerdict.Failed>(policy.Run(PolicyPhase.Data, DataMessage()));
        Assert.Matches(@"policy\.lua:4: instruction budget exceeded", failed.Reason);
    }

    [Fact]
    public void A_syntax_error_stops_loading_with_file_and_line()
    {
        var e = Assert.Throws<PolicyLoadException>(() => Load("local mod = {}\nfunction mod:validate_data(msg\n  return 1\nend"));
        Assert.Matches(@"policy\.lua:3:", e.Message);
    }

    [Fact]
    public void A_top_level_infinite_loop_stops_loading()
    {
        var e = Assert.Throws<PolicyLoadException>(() => Load("while true do end", budget: 100_000));
        Assert.Contains("instruction budget exceeded", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Concurrent_calls_use_separate_states()
    {
        using var policy = Load("""
            local mod = {}
            function mod:validate_rcptto(msg, rcpt, accept, vctx)
              counter = (counter or 0) + 1
              msg:context_set(msys.core.ECMESS_CTX_MESS, "seen", rcpt)
              return msys.core.VALIDATE_CONT
            end
            msys.registerModule("m", mod)
            """);
        Parallel.For(0, 2000, i =>
        {
            var message = new PolicyMessage { Connection = [], Message = [], Argument = $"r{i}@example.com" };
            Assert.Equal(PolicyVerdict.Continue, policy.Run(PolicyPhase.RcptTo, message));
            Assert.Equal($"r{i}@example.com", message.Message["seen"]);
        });
    }

    internal const string MomentumExample = """
        require("msys.core")
        require("msys.extended.message")
        local mod = {}

        function mod:validate_data_spool_each_rcpt(msg, accept, vctx)
          -- per-recipient decisions: turn on tracking for marketing mail only
          local h = msg:header("X-Mail-Class")
          if h and h[1] == "marketing" then
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_open_tracking", "true")
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_click_tracking", "1")
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_tracking_domain", "trk.example.com")
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_click_tracking_scheme", "https")
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_open_tracking_scheme", "https")
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_tracking_link_expiry", "604800")
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_campaign_id", "weekly_digest")
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_tags", '["digest","weekly"]')
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_metadata", '{"segment":"B"}')
          else
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_open_tracking", "false")
            msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_click_tracking", "false")
          end
          -- customer id is a connection-level variable
          msg:context_set(msys.core.ECMESS_CTX_CONN, "mo_customer_id", "42")
          return msys.core.VALIDATE_CONT
        end

        msys.registerModule("smtpapi_policy", mod)
        """;

    private LuaPolicy Load(string script, long budget = 1_000_000, int memoryMb = 16)
    {
        var path = Path.Combine(_directory, "policy.lua");
        File.WriteAllText(path, script);
        return new LuaPolicy(new PolicyOptions { Scripts = [path], InstructionBudget = budget, MemoryLimitMb = memoryMb, PoolSize = 2 }, NullLogger<LuaPolicy>.Instance);
    }

    private static PolicyMessage DataMessage(params (string Name, string Value)[] headers) => new()
    {
        Connection = [],
        Message = [],
        Headers = [.. headers.Select(h => HeaderField.Create(h.Name, h.Value))],
        MailFrom = "sender@example.org",
        RcptTo = "rcpt@example.com",
    };
}
