using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Beacon.Api;

/// <summary>Reads the query parameters both APIs share; a bad value throws <see cref="ApiParameterException"/>.</summary>
internal static class ApiQuery
{
    private static readonly string[] TimeFormats = ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"];

    /// <summary>SparkPost's YYYY-MM-DDTHH:MM (UTC), or any ISO 8601 time; null when absent.</summary>
    public static DateTimeOffset? Time(IQueryCollection query, string name)
    {
        var text = Single(query, name);
        if (text is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParseExact(text, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var exact))
        {
            return exact;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed) && text.Contains('T', StringComparison.Ordinal))
        {
            return parsed;
        }

        throw new ApiParameterException($"'{name}' must be a time as YYYY-MM-DDTHH:MM or ISO 8601, not '{text}'");
    }

    /// <summary>A comma-separated list (also repeated parameters); null when absent or empty.</summary>
    public static IReadOnlyList<string>? List(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var values))
        {
            return null;
        }

        var items = values.SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (items.Count > 1000)
        {
            throw new ApiParameterException($"'{name}' lists more than 1000 values");
        }

        return items.Count == 0 ? null : items;
    }

    public static int Integer(IQueryCollection query, string name, int fallback, int min, int max)
    {
        var text = Single(query, name);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ApiParameterException($"'{name}' must be a whole number from {min} to {max}, not '{text}'");
    }

    public static string? Single(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var values) || values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            return null;
        }

        return values.Count == 1 ? values[0] : throw new ApiParameterException($"'{name}' is given more than once");
    }

    /// <summary>The form of times in links: 2026-11-27T12:00:00.000Z, exact to the millisecond.</summary>
    public static string Format(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
