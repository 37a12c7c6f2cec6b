namespace Chat4All.Contracts.Events;

/// <summary>
/// Every integration event: its topic and its record. <c>docs/events/*.schema.json</c> is generated
/// from this list (and a test fails when the two drift), so other languages can subscribe.
/// </summary>
public static class EventCatalog
{
    public static readonly IReadOnlyList<(string Topic, Type EventType)> Events =
    [
        (Topics.UserCreated, typeof(UserCreated)),
        (Topics.UserRenamed, typeof(UserRenamed)),
        (Topics.UserDisabled, typeof(UserDisabled)),
        (Topics.UserEnabled, typeof(UserEnabled)),
        (Topics.UserDeleted, typeof(UserDeleted)),
        (Topics.ConversationCreated, typeof(ConversationCreated)),
        (Topics.ConversationMemberAdded, typeof(ConversationMemberAdded)),
        (Topics.ConversationMemberRemoved, typeof(ConversationMemberRemoved)),
        (Topics.ConversationUpdated, typeof(ConversationUpdated)),
        (Topics.MessageCreated, typeof(MessageCreated)),
        (Topics.MessageCreated, typeof(MessageUpdated)),
        (Topics.MessageCreated, typeof(MessageDeleted)),
        (Topics.ConversationRead, typeof(ConversationRead)),
        (Topics.MessageStatusChanged, typeof(MessageStatusChanged)),
        (Topics.MessageInbound, typeof(MessageInbound)),
        (Topics.DeliveryDeadLetter, typeof(DeliveryDeadLettered)),
        (Topics.PresenceChanged, typeof(PresenceChanged)),
        (Topics.FileUploaded, typeof(FileUploaded)),
    ];
}
