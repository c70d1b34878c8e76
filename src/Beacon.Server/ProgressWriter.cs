namespace Beacon.Server;

/// <summary>
/// Progress lines of a long verb, on standard error so that standard output carries only the result. On a
/// terminal each progress line (one containing "%)") replaces the previous one in place; anything else, and every
/// line when standard error is a file or a pipe, is written as a line of its own, so logs keep the whole history.
/// </summary>
internal sealed class ProgressWriter(TextWriter inner, bool terminal) : TextWriter
{
    private bool _pending;

    public static ProgressWriter StandardError() => new(Console.Error, !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb");

    public override System.Text.Encoding Encoding => inner.Encoding;

    public override void Write(char value) => inner.Write(value);

    public override void WriteLine(string? value)
    {
        value ??= string.Empty;
        if (terminal && value.Contains("%)", StringComparison.Ordinal))
        {
            inner.Write($"\r\u001b[K{value}");
            _pending = true;
            inner.Flush();
            return;
        }

        Finish();
        inner.WriteLine(value);
        inner.Flush();
    }

    public override Task WriteLineAsync(string? value)
    {
        WriteLine(value);
        return Task.CompletedTask;
    }

    /// <summary>Ends a line left open by an in-place update.</summary>
    public void Finish()
    {
        if (_pending)
        {
            inner.WriteLine();
            _pending = false;
        }
    }

    protected override void Dispose(bool disposing)
    {
        Finish();
        base.Dispose(disposing);
    }
}
