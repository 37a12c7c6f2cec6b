namespace Chat4All.Contracts.Realtime;

// The REST bodies of GET /v1/presence.

public sealed record PresenceView(Guid UserId, string Status, int Connections, DateTimeOffset? LastSeenAt);

public sealed record PresenceList(IReadOnlyList<PresenceView> Items);
