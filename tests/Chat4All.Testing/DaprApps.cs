using Chat4All.Contracts;
using Chat4All.Contracts.Events;

namespace Chat4All.Testing;

/// <summary>What one target needs from Dapr when it runs as its own Dapr app (app-id = target name).</summary>
public sealed record DaprApp(
    string AppId,
    IReadOnlyList<string> Subscriptions,
    bool UsesPubSub,
    bool UsesStateStore, // IStateStore, on the service's own PostgreSQL in both runtimes (ADR 0016): no Dapr state component

    IReadOnlyList<string> ActorTypes,
    IReadOnlyList<string> Workflows)
{
    /// <summary>Whether the app needs the actor state store: actors, and Dapr Workflow (which runs on actors).</summary>
    public bool UsesActorStore => ActorTypes.Count > 0 || Workflows.Count > 0;
}

/// <summary>
/// The contract between the code and the deployment files, written down once: the dapr-runtime host
/// tests check that each target really subscribes, resolves and registers exactly this, and the
/// deployment tests check that components/, dapr.yaml and k8s/ provide exactly this. A change on
/// either side that the other does not follow fails one of them.
/// </summary>
public static class DaprApps
{
    public static readonly IReadOnlyList<DaprApp> All =
    [
        new(Targets.Identity, Subscriptions: [], UsesPubSub: true, UsesStateStore: false, ActorTypes: [], Workflows: []),
        new(Targets.Messaging,
            Subscriptions: [Topics.MessageStatusChanged, Topics.MessageInbound, Topics.FileUploaded, Topics.UserCreated, Topics.UserRenamed, Topics.UserDeleted],
            UsesPubSub: true, UsesStateStore: false, ActorTypes: [], Workflows: []),
        // Delivery routes message.created to channels and fans every catalog topic out to webhook subscribers (ADR 0050).
        new(Targets.Delivery,
            Subscriptions: [.. EventCatalog.Events.Select(e => e.Topic).Distinct()],
            UsesPubSub: true, UsesStateStore: true, ActorTypes: [], Workflows: []),
        new(Targets.Realtime,
            Subscriptions: [Topics.ConversationCreated, Topics.MessageCreated, Topics.ConversationRead, Topics.MessageStatusChanged, Topics.PresenceChanged,
                Topics.ConversationMemberAdded, Topics.ConversationMemberRemoved, Topics.ConversationUpdated],
            UsesPubSub: true, UsesStateStore: false, ActorTypes: [Actors.UserPresence], Workflows: []),
        new(Targets.Files,
            Subscriptions: [Topics.ConversationCreated, Topics.ConversationMemberAdded, Topics.ConversationMemberRemoved],
            UsesPubSub: true, UsesStateStore: false, ActorTypes: [], Workflows: ["AssembleUpload"]),
    ];

    public static DaprApp Of(string target) => All.Single(a => a.AppId == target);

    /// <summary>Every topic some app subscribes to; each has a dead-letter topic (<see cref="Topics.DeadLetterOf"/>).</summary>
    public static IReadOnlyList<string> SubscribedTopics => [.. All.SelectMany(a => a.Subscriptions).Distinct()];
}
