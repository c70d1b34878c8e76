namespace Beacon.Server;

/// <summary>
/// Colour for one output stream, only where it helps and is wanted: the stream is a terminal (not redirected to
/// a file or a pipe), NO_COLOR is unset or empty (https://no-color.org) and TERM is not "dumb". Otherwise every
/// method returns its text unchanged, so scripts and logs never see escape codes.
/// </summary>
internal sealed class ConsoleStyle(bool enabled)
{
    public static ConsoleStyle Out { get; } = new(Wanted(Console.IsOutputRedirected));

    public static ConsoleStyle Error { get; } = new(Wanted(Console.IsErrorRedirected));

    public bool Enabled { get; } = enabled;

    public string Ok(string text) => Paint("32", text);

    public string Bad(string text) => Paint("31", text);

    public string Warn(string text) => Paint("33", text);

    public string Dim(string text) => Paint("2", text);

    public string Bold(string text) => Paint("1", text);

    internal static bool Wanted(bool redirected) =>
        !redirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")) && Environment.GetEnvironmentVariable("TERM") != "dumb";

    private string Paint(string code, string text) => Enabled && text.Length > 0 ? $"\u001b[{code}m{text}\u001b[0m" : text;
}
