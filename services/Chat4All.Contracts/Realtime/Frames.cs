namespace Chat4All.Contracts.Realtime;

/// <summary>WebSocket frame types (docs/api.md §7.2): every frame is <c>{type, timestamp, data}</c>.</summary>
public static class FrameTypes
{
    public const string ConnectionEstablished = "connection.established";
    public const string MessageCreated = "message.created";
    public const string MessageUpdated = "message.updated";
    public const string MessageDeleted = "message.deleted";
    public const string MessageStatusUpdated = "message.status_updated";
    public const string ConversationRead = "conversation.read";
    public const string PresenceChanged = "presence.changed";
    public const string ConversationMemberAdded = "conversation.member_added";
    public const string ConversationMemberRemoved = "conversation.member_removed";
    public const string ConversationUpdated = "conversation.updated";
    public const string Resumed = "resumed";
    public const string Ping = "ping";
    public const string Pong = "pong";
    public const string Error = "error";
    public const string Subscribe = "subscribe";
    public const string Unsubscribe = "unsubscribe";
    public const string Resume = "resume";
}

/// <summary>WebSocket close codes (docs/api.md §7.5).</summary>
public static class CloseCodes
{
    public const int Normal = 1000;
    public const int GoingAway = 1001;
    public const int MessageTooBig = 1009;
    public const int Unauthorized = 4001;
    public const int Forbidden = 4003;
    public const int PolicyViolation = 4008;
}

/// <summary>A frame the server sends: <c>{type, timestamp, data}</c>; <typeparamref name="TData"/> is the type's data record (see FrameData.cs).</summary>
public sealed record ServerFrame<TData>(string Type, DateTimeOffset Timestamp, TData Data);

/// <summary>A frame a client sends: <c>{type, data}</c>, no timestamp.</summary>
public sealed record ClientFrame<TData>(string Type, TData Data);
