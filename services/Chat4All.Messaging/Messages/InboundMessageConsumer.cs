using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chat4All.Messaging.Messages;

/// <summary>
/// Adds a channel contact's message (delivery's <c>message.inbound</c>) to its conversation exactly
/// as if the member had sent it through the API — next seq, message.created to everyone else — but
/// with no channels: the other members see it in the app, it is not echoed out to their channels.
/// Its message id comes from the provider's id, so a
/// duplicate is a no-op. A sender who is no longer a member, or a text the API would refuse, is
/// dropped with a warning rather than retried forever.
/// </summary>
public sealed partial class InboundMessageConsumer(MessagingDbContext db, OutboxSignal outbox, IOptions<MessagingOptions> options,
    MessagingMetrics metrics, ILogger<InboundMessageConsumer> logger) : IIntegrationEventConsumer<MessageInbound>
{
    public async Task HandleAsync(IntegrationEvent envelope, MessageInbound inbound, CancellationToken cancellationToken)
    {
        if (inbound.Payload is not { Type: "text", Text: { Length: > 0 } text } || text.Length > options.Value.MaxTextLength)
        {
            LogDropped(logger, inbound.MessageId, "not a text within the length limit");
            return;
        }

        var members = await db.Members.Where(m => m.ConversationId == inbound.ConversationId).Select(m => m.UserId).ToListAsync(cancellationToken);
        if (!members.Contains(inbound.SenderId))
        {
            LogDropped(logger, inbound.MessageId, "the sender is not a member of the conversation");
            return;
        }

        try
        {
            await MessageWriter.InsertAsync(db, new NewMessage(inbound.MessageId, inbound.ConversationId, inbound.SenderId,
                [.. members.Where(m => m != inbound.SenderId)], inbound.Payload, [], "normal", null, null,
                "inbound:" + inbound.Channel + ":" + inbound.ProviderMessageId, inbound.ReceivedAt), cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return; // stored already (a redelivered event)
        }

        outbox.Notify<MessagingDbContext>();
        metrics.MessageAccepted("channel", inbound.Payload.Type);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped inbound message {MessageId}: {Reason}")]
    private static partial void LogDropped(ILogger logger, Guid messageId, string reason);
}
