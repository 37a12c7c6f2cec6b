namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// One consuming service's subscription to one topic, registered by
/// <c>AddEventSubscription&lt;TConsumer&gt;(topic, consumerGroup)</c>. The consumer group is the
/// service's name: each group sees every event of the topic once, whatever its instance count.
/// A group may register several consumers for one topic (delivery routes <c>message.created</c> to
/// channels and also fans it out to webhook subscribers): they share the group's stream position
/// and run in registration order in one dispatch, so each must be idempotent — a failure of a later
/// one retries the event for all of them.
/// </summary>
public sealed record EventSubscription(string Topic, string ConsumerGroup, Type ConsumerType)
{
    /// <summary>Every consumer of the topic in this group, <see cref="ConsumerType"/> first.</summary>
    public IReadOnlyList<Type> ConsumerTypes { get; init; } = [ConsumerType];

    /// <summary>The consumers' names, for logs.</summary>
    public string ConsumerNames => string.Join("+", ConsumerTypes.Select(t => t.Name));
}
