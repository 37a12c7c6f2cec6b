namespace Chat4All.Contracts;

/// <summary>
/// The services one host process can run (docs/architecture.md §1). In the dapr runtime each target is
/// its own Dapr app and the target name is its app-id, so these strings are part of the contract.
/// </summary>
public static class Targets
{
    public const string All = "all";
    public const string Identity = "identity";
    public const string Messaging = "messaging";
    public const string Delivery = "delivery";
    public const string Realtime = "realtime";
    public const string Files = "files";

    /// <summary>Targets that have an implementation in this build.</summary>
    public static readonly IReadOnlyList<string> Implemented = [Identity, Messaging, Delivery, Realtime, Files];

    /// <summary>Every target name the contract knows, implemented or not.</summary>
    public static readonly IReadOnlyList<string> Known = [Identity, Messaging, Delivery, Realtime, Files];
}
