using System.Diagnostics.Metrics;

namespace Chat4All.Messaging;

/// <summary>
/// Meter <c>Chat4All.Messaging</c>: messages accepted (from the API or a channel contact), sends
/// answered as idempotent replays, conversations created, messages marked read.
/// </summary>
public sealed class MessagingMetrics
{
    public const string MeterName = "Chat4All.Messaging";

    private readonly Counter<long> _accepted;
    private readonly Counter<long> _replayed;
    private readonly Counter<long> _conversations;
    private readonly Counter<long> _read;

    public MessagingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _accepted = meter.CreateCounter<long>("chat4all.messaging.messages.accepted", description: "Messages stored, by source (api, channel) and payload type");
        _replayed = meter.CreateCounter<long>("chat4all.messaging.messages.replayed", description: "Sends answered from an earlier identical send (same message id or Idempotency-Key)");
        _conversations = meter.CreateCounter<long>("chat4all.messaging.conversations.created", description: "Conversations created, by type");
        _read = meter.CreateCounter<long>("chat4all.messaging.messages.read", description: "Messages marked read by their recipients");
    }

    public void MessageAccepted(string source, string payloadType) =>
        _accepted.Add(1, new("source", source), new("payload_type", payloadType));

    public void MessageReplayed() => _replayed.Add(1);

    public void ConversationCreated(string type) => _conversations.Add(1, new KeyValuePair<string, object?>("type", type));

    public void MessagesRead(int count) => _read.Add(count);
}
