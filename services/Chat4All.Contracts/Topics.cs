namespace Chat4All.Contracts;

/// <summary>Event-bus topic names: the polyglot contract between services (docs/architecture.md §2).</summary>
public static class Topics
{
    public const string UserCreated = "user.created";

    /// <summary>Published by identity when a user's display name changes; read models holding names follow it.</summary>
    public const string UserRenamed = "user.renamed";

    /// <summary>Published by identity when an admin disables a user (their tokens are refused through the revoked-users set).</summary>
    public const string UserDisabled = "user.disabled";

    /// <summary>Published by identity when an admin re-enables a disabled user.</summary>
    public const string UserEnabled = "user.enabled";

    /// <summary>Published by identity when an admin deletes a user; messaging's directory and member checks forget them.</summary>
    public const string UserDeleted = "user.deleted";
    public const string ConversationCreated = "conversation.created";

    /// <summary>Published by messaging when a group gains members; realtime and files follow its membership.</summary>
    public const string ConversationMemberAdded = "conversation.member_added";

    /// <summary>Published by messaging when a member leaves or is removed; realtime and files stop serving them that conversation.</summary>
    public const string ConversationMemberRemoved = "conversation.member_removed";

    /// <summary>Published by messaging when a group's name or description changes.</summary>
    public const string ConversationUpdated = "conversation.updated";

    /// <summary>
    /// A conversation's message stream: <c>MessageCreated</c>, and the <c>MessageUpdated</c> and
    /// <c>MessageDeleted</c> events of edits and deletes (the event type tells them apart), on one topic
    /// so that they are consumed in seq order per conversation (docs/adr/0045).
    /// </summary>
    public const string MessageCreated = "message.created";
    public const string ConversationRead = "conversation.read";
    public const string MessageStatusChanged = "message.status_changed";

    /// <summary>Published by files when an upload is assembled, verified and ready to be sent in messages.</summary>
    public const string FileUploaded = "file.uploaded";

    /// <summary>Published by realtime when a user goes online (first live connection) or offline (last one gone).</summary>
    public const string PresenceChanged = "presence.changed";

    /// <summary>Published by delivery when a channel contact writes to us; messaging adds it to the conversation.</summary>
    public const string MessageInbound = "message.inbound";

    /// <summary>Where delivery parks deliveries that failed for good (after retries, or permanently), with the reason.</summary>
    public const string DeliveryDeadLetter = "delivery_dlq";

    /// <summary>Where the messaging outbox relay parks events it could not publish.</summary>
    public const string MessageProcessingDeadLetter = "message_processing_dlq";

    /// <summary>Dead-letter topic of a subscribed topic.</summary>
    public static string DeadLetterOf(string topic) => topic + ".dlq";
}
