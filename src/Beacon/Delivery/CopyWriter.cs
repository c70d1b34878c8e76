using System.Text.Json.Nodes;
using Beacon.Links;
using Beacon.Rendering;
using Beacon.Spool;

namespace Beacon.Delivery;

/// <summary>
/// Writes the copy that leaves for one recipient (ARCHITECTURE decision 1: content is rendered at delivery):
/// the spooled body with X-MSYS-API removed and, when the recipient's settings frozen at ingress ask for it,
/// tracked links and the open pixel, each link sealed for this recipient. Recipients without tracking share
/// one copy. Last, the copy is DKIM-signed as it will leave (SMTP and capture alike): the signature field(s) go in
/// front of the rendered bytes. The result says what was done, for the delivery event.
/// </summary>
internal sealed class CopyWriter(MessageRenderer renderer, LinkBuilder links, DkimSigning dkim, string nodeName, TimeProvider time)
{
    /// <summary>Copies larger than this are rendered into a temporary file instead of memory.</summary>
    private const long InMemoryLimit = 4 * 1024 * 1024;

    public static bool IsTracked(SpooledRecipient recipient) => recipient.Tracking is { } t && (t.OpenTracking || t.ClickTracking);

    /// <summary>A seekable stream positioned at 0 holding the copy, DKIM-Signature field(s) first; the caller disposes it.</summary>
    public Stream Render(SpoolStore spool, SpooledMessage message, SpooledRecipient? recipient, out Dictionary<string, JsonNode?> facts)
    {
        Stream output = message.Size > InMemoryLimit
            ? new FileStream(Path.Combine(spool.IncomingDir, $"{message.MessageId}.{Guid.NewGuid():N}.copy"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose)
            : new MemoryStream((int)Math.Min(message.Size + 4096, InMemoryLimit));
        try
        {
            using (var body = spool.OpenBody(message))
            {
                var report = renderer.Render(body, output, Options(message, recipient));
                facts = Facts(recipient, report);
            }

            output.Position = 0;
            if (dkim.HasKeys && dkim.Sign(output) is { } signature)
            {
                facts["dkim_signed"] = JsonValue.Create(true);
                return new PrefixedStream(signature, output);
            }

            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    private RenderOptions Options(SpooledMessage message, SpooledRecipient? recipient)
    {
        if (recipient?.Tracking is not { } settings || !(settings.OpenTracking || settings.ClickTracking))
        {
            return new RenderOptions();
        }

        var now = time.GetUtcNow();
        var metadata = settings.Metadata is null ? null : MetadataLimit.TrimToJson(settings.Metadata, settings.MaxMetadataLen);
        TrackedLink Link(LinkKind kind) => new()
        {
            Kind = kind,
            MessageId = message.MessageId,
            TransmissionId = message.TransmissionId,
            CustomerId = settings.CustomerId,
            Recipient = recipient.Address,
            CampaignId = settings.CampaignId,
            Tags = settings.Tags,
            Metadata = kind == LinkKind.Click && !settings.ClickTrackingIncludeMetadata ? null : metadata,
            ExpiresAt = now.ToUnixTimeSeconds() + settings.TrackingLinkExpiry,
            RenderedAt = now.ToUnixTimeSeconds(),
            NodeName = nodeName,
        };

        return new RenderOptions
        {
            OpenTracking = settings.OpenTracking,
            ClickTracking = settings.ClickTracking,
            TrackingDomain = settings.TrackingDomain,
            ClickUrl = target => links.Build(settings.ClickTrackingScheme, settings.TrackingDomain, target.Sublink, Link(LinkKind.Click) with
            {
                Target = target.Url,
                LinkName = target.LinkName,
                Unsubscribe = target.Unsubscribe,
            }) ?? target.Url,
            OpenUrl = initial => links.Build(settings.OpenTrackingScheme, settings.TrackingDomain, null, Link(initial ? LinkKind.InitialOpen : LinkKind.Open)) ?? string.Empty,
        };
    }

    private static Dictionary<string, JsonNode?> Facts(SpooledRecipient? recipient, RenderReport report)
    {
        var facts = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        if (recipient is not null && IsTracked(recipient))
        {
            facts["links_tracked"] = JsonValue.Create(report.LinksRewritten.ToString(System.Globalization.CultureInfo.InvariantCulture));
            facts["open_pixel"] = JsonValue.Create(report.OpenPixelInserted);
            if (report.SkipReasonName is { } skipped)
            {
                facts["tracking_skipped"] = JsonValue.Create(skipped);
            }
        }

        // The sender's own signature covered the body that was rewritten: it would fail, so it went (docs/rendering.md).
        if (report.SignaturesRemoved > 0)
        {
            facts["dkim_signature_removed"] = JsonValue.Create(true);
        }

        return facts;
    }
}
