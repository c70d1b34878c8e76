using System.Runtime.InteropServices;
using System.Text;
using Beacon.Ingress;
using KeraLua;

namespace Beacon.Policy;

/// <summary>
/// One Lua 5.4 state with the policy scripts loaded into the sandbox of prelude.lua. A state serves one call at
/// a time (<see cref="LuaPolicy"/> pools them). Limits are enforced inside Lua, never by raising Lua errors from
/// C# (a longjmp across managed frames is undefined behaviour): the instruction budget by a count hook in the
/// prelude, the memory cap by this class's allocator, which simply refuses to grow past it, so that Lua raises
/// "not enough memory" itself. Data crosses as plain tables of strings built and read with the cap lifted.
/// </summary>
internal sealed class LuaSandbox : IDisposable
{
    private static readonly string Prelude = ReadPrelude();

    private readonly LuaAlloc _allocator;
    private readonly Lua _lua;
    private readonly long _memoryLimit;
    private long _used;
    private bool _limited;

    private LuaSandbox(long memoryLimit)
    {
        _memoryLimit = memoryLimit;
        _allocator = Allocate; // kept in a field: native code holds the delegate
        _lua = new Lua(_allocator, IntPtr.Zero) { Encoding = Encoding.UTF8 };
    }

    public IReadOnlySet<string> Hooks { get; private set; } = new HashSet<string>();

    /// <summary>Creates a state and loads every script; a syntax or load error throws with the script's file:line.</summary>
    public static LuaSandbox Create(IReadOnlyList<(string Name, string Source)> scripts, long instructionBudget, long memoryLimit)
    {
        var sandbox = new LuaSandbox(memoryLimit);
        try
        {
            sandbox.Initialize(scripts, instructionBudget);
            return sandbox;
        }
        catch
        {
            sandbox.Dispose();
            throw;
        }
    }

    public PolicyVerdict Run(PolicyPhase phase, PolicyMessage message, List<string> logs)
    {
        var lua = _lua;
        var top = lua.GetTop();
        try
        {
            lua.GetGlobal("__beacon_run");
            lua.PushString(HookName(phase));
            PushInput(message);
            _limited = true;
            var status = lua.PCall(2, 1, 0);
            _limited = false;
            if (status != LuaStatus.OK)
            {
                return new PolicyVerdict.Failed(lua.ToString(-1) ?? status.ToString());
            }

            return ReadResult(message, logs);
        }
        finally
        {
            _limited = false;
            lua.SetTop(top);
        }
    }

    public void Dispose() => _lua.Dispose();

    private void Initialize(IReadOnlyList<(string Name, string Source)> scripts, long instructionBudget)
    {
        var lua = _lua;
        lua.OpenBasicLibrary();
        lua.OpenStringLibrary();
        lua.OpenTableLibrary();
        lua.OpenMathLibrary();
        lua.OpenUTF8Library();
        lua.OpenOSLibrary();
        lua.OpenDebugLibrary();
        if (lua.DoString(Prelude))
        {
            throw new PolicyLoadException($"policy prelude: {lua.ToString(-1)}");
        }

        // The prelude keeps private references; scripts get none of these.
        foreach (var name in new[] { "debug", "os", "io", "package", "load", "loadfile", "dofile", "require", "collectgarbage" })
        {
            lua.PushNil();
            lua.SetGlobal(name);
        }

        foreach (var (name, source) in scripts)
        {
            lua.GetGlobal("__beacon_load");
            lua.PushString(name);
            lua.PushString(source);
            lua.PushInteger(instructionBudget);
            _limited = true;
            var status = lua.PCall(3, 0, 0);
            _limited = false;
            if (status != LuaStatus.OK)
            {
                throw new PolicyLoadException(lua.ToString(-1) ?? $"{name}: {status}");
            }
        }

        lua.GetGlobal("__beacon_hooks");
        lua.PCall(0, 1, 0);
        Hooks = new HashSet<string>((lua.ToString(-1) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
        lua.Pop(1);
    }

    private void PushInput(PolicyMessage message)
    {
        var lua = _lua;
        lua.NewTable();
        PushTable(message.Connection);
        lua.SetField(-2, "conn");
        PushTable(message.Message);
        lua.SetField(-2, "mess");
        SetString("mailfrom", message.MailFrom);
        SetString("rcptto", message.RcptTo);
        SetString("arg", message.Argument);
        if (message.Headers is { } headers)
        {
            lua.CreateTable(headers.Count, 0);
            for (var i = 0; i < headers.Count; i++)
            {
                lua.CreateTable(0, 4);
                lua.PushString(headers[i].Name);
                lua.SetField(-2, "name");
                lua.PushString(headers[i].Name.ToLowerInvariant());
                lua.SetField(-2, "key");
                lua.PushString(headers[i].Value);
                lua.SetField(-2, "value");
                lua.PushInteger(i + 1);
                lua.SetField(-2, "index");
                lua.RawSetInteger(-2, i + 1);
            }

            lua.SetField(-2, "headers");
        }
    }

    private void SetString(string field, string? value)
    {
        if (value is not null)
        {
            _lua.PushString(value);
            _lua.SetField(-2, field);
        }
    }

    private void PushTable(Dictionary<string, string> values)
    {
        _lua.CreateTable(0, values.Count);
        foreach (var (key, value) in values)
        {
            _lua.PushString(value);
            _lua.SetField(-2, key);
        }
    }

    private PolicyVerdict ReadResult(PolicyMessage message, List<string> logs)
    {
        var lua = _lua;
        if (lua.GetField(-1, "logs") == LuaType.Table)
        {
            for (var i = 1; lua.RawGetInteger(-1, i) == LuaType.String; i++)
            {
                logs.Add(lua.ToString(-1));
                lua.Pop(1);
            }

            lua.Pop(1);
        }

        lua.Pop(1);
        if (lua.GetField(-1, "ok") != LuaType.Boolean || !lua.ToBoolean(-1))
        {
            lua.Pop(1);
            lua.GetField(-1, "error");
            return new PolicyVerdict.Failed(lua.ToString(-1) ?? "unknown error");
        }

        lua.Pop(1);
        ReadTable("conn", message.Connection);
        ReadTable("mess", message.Message);
        if (lua.GetField(-1, "headers") == LuaType.Table && message.Headers is { } original)
        {
            message.Headers = ReadHeaders(original);
            message.HeadersChanged = true;
        }

        lua.Pop(1);
        long? code = lua.GetField(-1, "code") == LuaType.Number ? lua.ToInteger(-1) : null;
        lua.Pop(1);
        var text = lua.GetField(-1, "text") == LuaType.String ? lua.ToString(-1) : null;
        lua.Pop(1);
        return code switch
        {
            null or < 400 => PolicyVerdict.Continue,
            >= 400 and < 600 => new PolicyVerdict.Reject(ScriptReply.From((int)code, text)),
            _ => new PolicyVerdict.Failed($"vctx:set_code({code}) is not an SMTP reply code"),
        };
    }

    private void ReadTable(string field, Dictionary<string, string> into)
    {
        var lua = _lua;
        into.Clear();
        if (lua.GetField(-1, field) == LuaType.Table)
        {
            lua.PushNil();
            while (lua.Next(-2))
            {
                if (lua.Type(-2) == LuaType.String && lua.Type(-1) == LuaType.String)
                {
                    into[lua.ToString(-2)] = lua.ToString(-1);
                }

                lua.Pop(1);
            }
        }

        lua.Pop(1);
    }

    private List<HeaderField> ReadHeaders(List<HeaderField> original)
    {
        var lua = _lua;
        var headers = new List<HeaderField>();
        for (var i = 1; lua.RawGetInteger(-1, i) == LuaType.Table; i++)
        {
            var name = lua.GetField(-1, "name") == LuaType.String ? lua.ToString(-1) : null;
            lua.Pop(1);
            var value = lua.GetField(-1, "value") == LuaType.String ? lua.ToString(-1) : string.Empty;
            lua.Pop(1);
            long? index = lua.GetField(-1, "index") == LuaType.Number ? lua.ToInteger(-1) : null;
            lua.Pop(2);
            if (index is { } n && n >= 1 && n <= original.Count)
            {
                headers.Add(original[(int)n - 1]); // untouched: its original bytes
            }
            else if (name is not null && IsFieldName(name))
            {
                headers.Add(HeaderField.Create(name, value.ReplaceLineEndings(" ")));
            }
        }

        lua.Pop(1);
        return headers;
    }

    /// <summary>field-name = 1*ftext; ftext = %d33-57 / %d59-126 (RFC 5322 §3.6.8).</summary>
    private static bool IsFieldName(string name) => name.Length > 0 && name.All(c => c is >= (char)33 and <= (char)126 and not ':');

    /// <summary>The hook's name without "validate_", as scripts define it.</summary>
    internal static string HookName(PolicyPhase phase) => phase switch
    {
        PolicyPhase.Connect => "connect",
        PolicyPhase.Ehlo => "ehlo",
        PolicyPhase.MailFrom => "mailfrom",
        PolicyPhase.RcptTo => "rcptto",
        PolicyPhase.Data => "data",
        PolicyPhase.DataSpool => "data_spool",
        PolicyPhase.DataSpoolEachRcpt => "data_spool_each_rcpt",
        _ => throw new ArgumentOutOfRangeException(nameof(phase)),
    };

    /// <summary>lua_Alloc: realloc with a cap. Returning null makes Lua raise its own memory error.</summary>
    private IntPtr Allocate(IntPtr userData, IntPtr pointer, UIntPtr oldSize, UIntPtr newSize)
    {
        var old = pointer == IntPtr.Zero ? 0 : (long)oldSize;
        if (newSize == UIntPtr.Zero)
        {
            if (pointer != IntPtr.Zero)
            {
                Marshal.FreeHGlobal(pointer);
                _used -= old;
            }

            return IntPtr.Zero;
        }

        var growth = (long)newSize - old;
        if (_limited && growth > 0 && _used + growth > _memoryLimit)
        {
            return IntPtr.Zero;
        }

        try
        {
            var result = pointer == IntPtr.Zero ? Marshal.AllocHGlobal((nint)newSize) : Marshal.ReAllocHGlobal(pointer, (nint)newSize);
            _used += growth;
            return result;
        }
        catch (OutOfMemoryException)
        {
            return IntPtr.Zero;
        }
    }

    private static string ReadPrelude()
    {
        using var stream = typeof(LuaSandbox).Assembly.GetManifestResourceStream("Beacon.Policy.prelude.lua")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

public sealed class PolicyLoadException(string message) : Exception(message);
