using Beacon.Rendering;
using Microsoft.Extensions.Logging;

namespace Beacon.Tests.Rendering;

/// <summary>Turns the renderer's fail-open error log into a test failure, so a bug cannot hide behind "internal_error".</summary>
internal sealed class FailingLogger : ILogger<MessageRenderer>
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel >= LogLevel.Error)
            throw new InvalidOperationException(formatter(state, exception), exception);
    }
}
