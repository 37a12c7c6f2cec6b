namespace Chat4All.Contracts;

/// <summary>
/// Dapr component names (ARCHITECTURE §3). Code, component YAML checks and tests use these, so a
/// platform team can swap a component's implementation without any name drifting.
/// </summary>
public static class Components
{
    /// <summary>The pub/sub component every service publishes to and subscribes through (Kafka in k8s).</summary>
    public const string PubSub = "pubsub";

    /// <summary>
    /// The outbox-enabled state store delivery keeps its records in (state.postgresql with
    /// <c>outboxPublishPubsub</c> = <see cref="PubSub"/>, <c>outboxPublishTopic</c> = <see cref="Topics.MessageStatusChanged"/>).
    /// </summary>
    public const string StateStore = "statestore";
}
