using System.Text.Json.Nodes;
using Beacon.Queue;
using Beacon.Spool;
using Microsoft.Extensions.Logging;

namespace Beacon.Delivery;

/// <summary>Delivers a capture destination's items into the <see cref="CaptureStore"/>.</summary>
internal sealed class CaptureWorker(SpoolStore spool, CopyWriter copies, CaptureStore store, TimeProvider time, ILogger logger)
{
    public async Task RunAsync(DestinationQueue queue, CancellationToken abort)
    {
        while (await queue.TakeAsync(TimeSpan.Zero).ConfigureAwait(false) is { } item)
        {
            var outcomes = new List<RecipientOutcome>(item.Recipients.Length);
            foreach (var index in item.Recipients)
            {
                abort.ThrowIfCancellationRequested();
                outcomes.Add(Capture(item.Message, index));
            }

            await queue.CompleteAsync(item, outcomes).ConfigureAwait(false);
        }
    }

    private RecipientOutcome Capture(SpooledMessage message, int index)
    {
        var recipient = message.Recipients[index];
        try
        {
            Dictionary<string, JsonNode?> facts;
            using (var copy = copies.Render(spool, message, recipient, out facts))
            {
                store.Write(message.MessageId, index, new CapturedEnvelope(message.MessageId, message.TransmissionId, message.MailFrom, recipient.Address, time.GetUtcNow()), copy);
            }

            return new RecipientOutcome(index, DeliveryOutcome.Delivered, $"captured in {store.CopyPath(message.MessageId, index)}", DeliveryMethod: "capture", Fields: facts);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError(e, "capture: could not store message {Id} for {Recipient}", message.MessageId, recipient.Address);
            return new RecipientOutcome(index, DeliveryOutcome.Deferred, $"capture failed: {e.Message}", DeliveryMethod: "capture");
        }
    }
}
