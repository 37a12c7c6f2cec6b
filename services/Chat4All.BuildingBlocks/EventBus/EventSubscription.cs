namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// One consuming service's subscription to one topic, registered by
/// <c>AddEventSubscription&lt;TConsumer&gt;(topic, consumerGroup)</c>. The consumer group is the
/// service's name: each group sees every event of the topic once, whatever its instance count.
/// </summary>
public sealed record EventSubscription(string Topic, string ConsumerGroup, Type ConsumerType);
