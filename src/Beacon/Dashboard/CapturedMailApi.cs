using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Beacon.Api;
using Beacon.Delivery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using MimeKit;

namespace Beacon.Dashboard;

/// <summary>
/// The dashboard's mail viewer over capture mode's copies (<see cref="CaptureStore"/>):
/// GET /api/v1/captured (newest first, limit 1–1000, default 100) with from, to, subject and date;
/// GET …/{message_id}/{recipient} one copy's headers and text part; …/html its HTML part, sandboxed;
/// …/raw its source. Ids are validated by <see cref="CapturedCopyId"/> before anything touches the disk: 400 for
/// anything that is not an id, 404 for an id with no copy.
/// </summary>
internal sealed class CapturedMailApi(CaptureStore capture)
{
    public const string Path = "/api/v1/captured";

    /// <summary>
    /// The HTML part runs in a sandbox with no scripts, forms or same-origin access, whether it is framed by the
    /// dashboard or opened directly: a captured message is untrusted content served from the dashboard's origin.
    /// Popups may escape the sandbox so a tracked link opens in a normal tab (the page gets &lt;base target=_blank&gt;).
    /// Remote images stay blocked unless asked for, because loading them fetches the open pixel and records an open.
    /// </summary>
    private const string HtmlPolicy = "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; " +
        "font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; img-src data:";

    private static readonly JsonWriterOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet(Path, ListAsync);
        routes.MapGet(Path + "/{message_id}/{recipient}", ShowAsync);
        routes.MapGet(Path + "/{message_id}/{recipient}/html", HtmlAsync);
        routes.MapGet(Path + "/{message_id}/{recipient}/raw", RawAsync);
    }

    private async Task ListAsync(HttpContext context)
    {
        int limit;
        try
        {
            limit = ApiQuery.Integer(context.Request.Query, "limit", 100, 1, 1000);
        }
        catch (ApiParameterException e)
        {
            await ApiErrors.InvalidAsync(context, e.Message).ConfigureAwait(false);
            return;
        }

        var copies = capture.List(newestFirst: true).Take(limit).ToList();
        await WriteJsonAsync(context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("results");
            foreach (var (path, envelope) in copies)
            {
                writer.WriteStartObject();
                HeaderList headers;
                using (var stream = File.OpenRead(path))
                {
                    headers = HeaderList.Load(stream, context.RequestAborted);
                }

                WriteSummary(writer, path, envelope, headers);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task ShowAsync(HttpContext context)
    {
        if (await FindAsync(context) is not { } found)
        {
            return;
        }

        var message = await MimeMessage.LoadAsync(found.Path, context.RequestAborted).ConfigureAwait(false);
        await WriteJsonAsync(context, writer =>
        {
            writer.WriteStartObject();
            WriteSummary(writer, found.Path, found.Envelope, message.Headers);
            writer.WriteBoolean("has_html", message.HtmlBody is not null);
            if (message.TextBody is { } text)
            {
                writer.WriteString("text", text);
            }

            writer.WriteStartArray("headers");
            foreach (var header in message.Headers)
            {
                writer.WriteStartObject();
                writer.WriteString("name", header.Field);
                writer.WriteString("value", header.Value);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("attachments");
            foreach (var attachment in message.Attachments.OfType<MimePart>())
            {
                writer.WriteStartObject();
                writer.WriteString("filename", attachment.FileName);
                writer.WriteString("content_type", attachment.ContentType.MimeType);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task HtmlAsync(HttpContext context)
    {
        if (await FindAsync(context) is not { } found)
        {
            return;
        }

        var message = await MimeMessage.LoadAsync(found.Path, context.RequestAborted).ConfigureAwait(false);
        if (message.HtmlBody is not { } html)
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status404NotFound, "Resource could not be found", $"captured copy {found.Envelope.MessageId} has no HTML part", ApiErrors.NotFound).ConfigureAwait(false);
            return;
        }

        var images = ApiQuery.Single(context.Request.Query, "images") == "1";
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.ContentSecurityPolicy = images ? HtmlPolicy + " http: https:" : HtmlPolicy;
        NoStore(context.Response);
        // The HTML parser puts a leading <base> into the head it creates, and the first base with a target wins.
        await context.Response.WriteAsync("<base target=\"_blank\">" + html, Encoding.UTF8, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task RawAsync(HttpContext context)
    {
        if (await FindAsync(context) is not { } found)
        {
            return;
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        NoStore(context.Response);
        await context.Response.SendFileAsync(found.Path, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task<(string Path, CapturedEnvelope Envelope)?> FindAsync(HttpContext context)
    {
        var values = context.Request.RouteValues;
        if (!CapturedCopyId.TryParse(values["message_id"] as string, values["recipient"] as string, out var id))
        {
            await ApiErrors.InvalidAsync(context, "a captured copy is named by its message id (20 lowercase hex digits) and the recipient's index (0, 1, …)").ConfigureAwait(false);
            return null;
        }

        if (capture.Find(id.MessageId, id.Recipient) is not { } found)
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status404NotFound, "Resource could not be found", $"no captured copy {id}", ApiErrors.NotFound).ConfigureAwait(false);
            return null;
        }

        return found;
    }

    private static void WriteSummary(Utf8JsonWriter writer, string path, CapturedEnvelope envelope, HeaderList headers)
    {
        writer.WriteString("message_id", envelope.MessageId);
        writer.WriteNumber("recipient", int.Parse(System.IO.Path.GetFileNameWithoutExtension(path), System.Globalization.CultureInfo.InvariantCulture));
        writer.WriteString("transmission_id", envelope.TransmissionId);
        writer.WriteString("mail_from", envelope.MailFrom);
        writer.WriteString("rcpt_to", envelope.Recipient);
        writer.WriteString("captured_at", envelope.CapturedAt);
        writer.WriteString("from", headers[HeaderId.From]);
        writer.WriteString("to", headers[HeaderId.To]);
        writer.WriteString("subject", headers[HeaderId.Subject]);
        writer.WriteString("date", headers[HeaderId.Date]);
        writer.WriteNumber("size", new FileInfo(path).Length);
    }

    private static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
    }

    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.ContentType = "application/json";
        NoStore(context.Response);
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, Output))
        {
            write(writer);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
