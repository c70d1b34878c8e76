using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Beacon.Events;
using Microsoft.AspNetCore.Http;

namespace Beacon.Api;

/// <summary>
/// GET /api/v1/events/message, SparkPost's Message Events API: filters events, campaigns, message_ids,
/// transmission_ids, recipients, from, to (default the last 24 hours), per_page (1–10000, default 1000), and
/// cursor paging, newest first. The cursor is the sequence the next page starts below; the next link repeats
/// every filter with from and to fixed, so a client walking the pages sees one consistent result set.
/// </summary>
public sealed class MessageEventsApi(IEventStore store, TimeProvider time)
{
    public const string Path = "/api/v1/events/message";

    private static readonly JsonWriterOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task HandleAsync(HttpContext context)
    {
        EventQuery query;
        try
        {
            query = Parse(context.Request.Query, time.GetUtcNow());
        }
        catch (ApiParameterException e)
        {
            await ApiErrors.InvalidAsync(context, e.Message).ConfigureAwait(false);
            return;
        }

        var page = await store.SearchAsync(query, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, Output))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("results");
            foreach (var item in page.Events)
            {
                // The stored form is {"msys":{"<category>":{…}}}; SparkPost's results are the inner objects.
                using var document = JsonDocument.Parse(item.Json);
                foreach (var category in document.RootElement.GetProperty("msys").EnumerateObject())
                {
                    category.Value.WriteTo(writer);
                }
            }

            writer.WriteEndArray();
            writer.WriteNumber("total_count", page.TotalCount);
            writer.WriteStartObject("links");
            if (page.NextBeforeSequence is { } next)
            {
                writer.WriteString("next", NextLink(context.Request.Query, query, next));
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    internal static EventQuery Parse(IQueryCollection query, DateTimeOffset now)
    {
        HashSet<EventType>? types = null;
        if (ApiQuery.List(query, "events") is { } names)
        {
            types = [];
            foreach (var name in names)
            {
                types.Add(EventTypes.TryParse(name, out var type)
                    ? type
                    : throw new ApiParameterException($"'events' must list event types ({string.Join(", ", Enum.GetValues<EventType>().Select(t => t.Name()))}), not '{name}'"));
            }
        }

        var to = ApiQuery.Time(query, "to") ?? now;
        var from = ApiQuery.Time(query, "from") ?? to.AddHours(-24);
        if (from > to)
        {
            throw new ApiParameterException("'from' must not be after 'to'");
        }

        long? before = null;
        if (ApiQuery.Single(query, "cursor") is { } cursor && cursor != "initial")
        {
            before = long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) && sequence > 0
                ? sequence
                : throw new ApiParameterException($"'cursor' must be 'initial' or a cursor from a 'next' link, not '{cursor}'");
        }

        return new EventQuery
        {
            Types = types,
            Campaigns = ApiQuery.List(query, "campaigns"),
            MessageIds = ApiQuery.List(query, "message_ids"),
            TransmissionIds = ApiQuery.List(query, "transmission_ids"),
            Recipients = ApiQuery.List(query, "recipients"),
            From = from,
            To = to,
            PerPage = ApiQuery.Integer(query, "per_page", 1000, 1, 10000),
            BeforeSequence = before,
        };
    }

    private static string NextLink(IQueryCollection original, EventQuery query, long next)
    {
        var link = new StringBuilder(Path).Append("?cursor=").Append(next.ToString(CultureInfo.InvariantCulture));
        foreach (var (key, values) in original)
        {
            if (key is not ("cursor" or "from" or "to"))
            {
                foreach (var value in values)
                {
                    link.Append('&').Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value ?? string.Empty));
                }
            }
        }

        link.Append("&from=").Append(Uri.EscapeDataString(ApiQuery.Format(query.From!.Value)));
        link.Append("&to=").Append(Uri.EscapeDataString(ApiQuery.Format(query.To!.Value)));
        return link.ToString();
    }
}
