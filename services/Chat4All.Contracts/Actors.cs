namespace Chat4All.Contracts;

/// <summary>Dapr actor type names (docs/architecture.md §3): the sidecar routes calls by these strings.</summary>
public static class Actors
{
    /// <summary>One actor per user (actor id = user id) holding that user's presence; hosted by realtime.</summary>
    public const string UserPresence = "UserPresence";
}
