namespace Chat4All.Contracts;

/// <summary>
/// Dapr component names (docs/architecture.md §3). Code, component YAML checks and tests use these, so a
/// platform team can swap a component's implementation without any name drifting.
/// </summary>
public static class Components
{
    /// <summary>The pub/sub component every service publishes to and subscribes through (Kafka in k8s).</summary>
    public const string PubSub = "pubsub";

    /// <summary>
    /// The actor state store (state.redis with <c>actorStateStore: "true"</c>): <see cref="Actors.UserPresence"/>
    /// keeps its state there, and Dapr Workflow (files' <c>AssembleUpload</c>) runs on actors too. No code
    /// names it: the sidecar finds it by that flag, so only the YAML and the structural tests use the name.
    /// </summary>
    public const string ActorStore = "actorstore";

    /// <summary>
    /// The secret store every other component reads its credentials from (<c>secretKeyRef</c>): environment
    /// variables locally (secretstores.local.env), Kubernetes secrets in the cluster. Never literals in YAML.
    /// </summary>
    public const string SecretStore = "secretstore";
}
