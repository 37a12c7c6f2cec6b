using System.Security.Cryptography;
using System.Text;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;

namespace Chat4All.Delivery.Deliveries;

/// <summary>
/// One message to one recipient on one channel, as kept in the state store. Its key is derived
/// from (message, recipient, channel), so a redelivered <c>message.created</c> finds the record it
/// already made instead of making a second one.
/// </summary>
public sealed record DeliveryRecord
{
    /// <summary>Waiting for an attempt (first, retry, or replay); shown to users as <c>accepted</c>.</summary>
    public const string Pending = "pending";

    public required Guid DeliveryId { get; init; }

    public required Guid MessageId { get; init; }

    public required Guid ConversationId { get; init; }

    public required Guid SenderId { get; init; }

    public required Guid RecipientId { get; init; }

    public required string Channel { get; init; }

    /// <summary>The recipient's address on the channel when the delivery was made; null if they had none.</summary>
    public string? Address { get; init; }

    public required MessagePayload Payload { get; init; }

    /// <summary>The channel to try instead if this delivery fails for good (the message's choice).</summary>
    public string? FallbackChannel { get; init; }

    /// <summary>
    /// Default routing: the recipient's preferred channels still to try, in order, should this one
    /// fail for good or time out. Null for deliveries to channels the message named.
    /// </summary>
    public IReadOnlyList<string>? FallbackChain { get; init; }

    /// <summary>Set on a fallback delivery: the channel whose failure caused it.</summary>
    public string? FallbackFrom { get; init; }

    /// <summary><see cref="Pending"/>, or a <see cref="DeliveryStatuses"/> value other than accepted.</summary>
    public required string Status { get; init; }

    /// <summary>The last status announced in a <c>message.status_changed</c> event (its next event's old_status).</summary>
    public string PublishedStatus { get; init; } = DeliveryStatuses.Accepted;

    public int Attempts { get; init; }

    public DateTimeOffset NextAttemptAt { get; init; }

    public string? ProviderMessageId { get; init; }

    public string? LastError { get; init; }

    /// <summary>W3C traceparent of the trace this delivery belongs to (the message's), so its attempts and reports continue it.</summary>
    public string? TraceParent { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public DateTimeOffset? SentAt { get; init; }

    /// <summary>The status users see: pending is <c>accepted</c>.</summary>
    public string PublicStatus => Status == Pending ? DeliveryStatuses.Accepted : Status;

    public string Key => KeyOf(MessageId, RecipientId, Channel);

    /// <summary>
    /// Delivery records that reached a final status (delivered, read, failed) and have not changed
    /// for the rule's age leave the state store; pending ones never do.
    /// </summary>
    public static Chat4All.BuildingBlocks.Retention.RetentionRule FinishedRetention { get; } =
        Chat4All.BuildingBlocks.Retention.RetentionRules.Where<Data.DeliveryDbContext>(
            Chat4All.BuildingBlocks.Retention.RetentionRules.FinishedDeliveries,
            Chat4All.BuildingBlocks.StateStore.StateModel.TableName,
            $"key LIKE 'delivery|%' AND value->>'status' IN ('{DeliveryStatuses.Delivered}', '{DeliveryStatuses.Read}', '{DeliveryStatuses.Failed}') AND updated_at < {{0}}");

    public static string KeyOf(Guid messageId, Guid recipientId, string channel) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"delivery|{messageId:N}|{recipientId:N}|{channel}");

    /// <summary>A stable id for (message, recipient, channel): the idempotency key providers see.</summary>
    public static Guid IdOf(Guid messageId, Guid recipientId, string channel) => StableGuid(KeyOf(messageId, recipientId, channel));

    /// <summary>A name-based UUID (version 8, SHA-256 of the name), the same on every instance and run.</summary>
    public static Guid StableGuid(string name)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(name), hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80); // version 8
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>Order of delivery progress; a report never moves a record down. Failed is terminal.</summary>
    public static int Rank(string status) => status switch
    {
        Pending => 0,
        DeliveryStatuses.Accepted => 0,
        DeliveryStatuses.Sent => 1,
        DeliveryStatuses.Delivered => 2,
        DeliveryStatuses.Read => 3,
        DeliveryStatuses.Failed => 4,
        _ => -1,
    };
}
