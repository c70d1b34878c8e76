using System.Collections.Concurrent;
using Beacon.Config;
using Microsoft.Extensions.Logging;

namespace Beacon.Policy;

/// <summary>
/// Runs the configured Lua scripts' hooks. Lua states are not thread-safe, so each call borrows one from a pool
/// (at most pool_size at once; others wait). A state whose call failed is thrown away and replaced by a fresh
/// one, so a script that corrupted its globals or filled its memory can't affect the next transaction.
/// With no scripts configured every hook is skipped.
/// </summary>
public sealed class LuaPolicy : IPolicy, IDisposable
{
    private readonly IReadOnlyList<(string Name, string Source)> _scripts;
    private readonly long _budget;
    private readonly long _memoryLimit;
    private readonly ConcurrentBag<LuaSandbox> _idle = [];
    private readonly SemaphoreSlim _slots;
    private readonly IReadOnlySet<string> _hooks;
    private readonly ILogger<LuaPolicy> _logger;

    /// <summary>Loads every script once to fail fast: a syntax or load error throws <see cref="PolicyLoadException"/> with file:line.</summary>
    public LuaPolicy(PolicyOptions options, ILogger<LuaPolicy> logger)
    {
        _logger = logger;
        _scripts = [.. options.Scripts.Select(path => (path, File.ReadAllText(path)))];
        _budget = options.InstructionBudget;
        _memoryLimit = options.MemoryLimitMb * 1024L * 1024L;
        _slots = new SemaphoreSlim(options.PoolSize > 0 ? options.PoolSize : 2 * Environment.ProcessorCount);
        if (_scripts.Count == 0)
        {
            _hooks = new HashSet<string>();
            return;
        }

        var first = LuaSandbox.Create(_scripts, _budget, _memoryLimit);
        _hooks = first.Hooks;
        _idle.Add(first);
        logger.LogInformation("policy: {Count} script(s) loaded; hooks: {Hooks}", _scripts.Count, string.Join(", ", _hooks.Order(StringComparer.Ordinal)));
    }

    public bool Handles(PolicyPhase phase) => _hooks.Contains(LuaSandbox.HookName(phase));

    public PolicyVerdict Run(PolicyPhase phase, PolicyMessage message)
    {
        if (!Handles(phase))
        {
            return PolicyVerdict.Continue;
        }

        _slots.Wait();
        LuaSandbox? sandbox = null;
        try
        {
            sandbox = _idle.TryTake(out var idle) ? idle : LuaSandbox.Create(_scripts, _budget, _memoryLimit);
            var logs = new List<string>();
            var verdict = sandbox.Run(phase, message, logs);
            foreach (var line in logs)
            {
                _logger.LogInformation("policy {Phase}: {Line}", LuaSandbox.HookName(phase), line);
            }

            if (verdict is PolicyVerdict.Failed failed)
            {
                _logger.LogError("policy validate_{Phase} failed: {Reason}", LuaSandbox.HookName(phase), failed.Reason);
                sandbox.Dispose();
                sandbox = null;
            }

            return verdict;
        }
        catch (PolicyLoadException e)
        {
            _logger.LogError("policy: could not create a Lua state: {Reason}", e.Message);
            return new PolicyVerdict.Failed(e.Message);
        }
        finally
        {
            if (sandbox is not null)
            {
                _idle.Add(sandbox);
            }

            _slots.Release();
        }
    }

    public void Dispose()
    {
        while (_idle.TryTake(out var sandbox))
        {
            sandbox.Dispose();
        }

        _slots.Dispose();
    }
}
