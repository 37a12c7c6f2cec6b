namespace Chat4All.Contracts;

/// <summary>Delivery channels and statuses (docs/api.md §4.2, §4.5).</summary>
public static class Channels
{
    public const string WhatsApp = "whatsapp";
    public const string Instagram = "instagram";
    public const string Telegram = "telegram";
    public const string Messenger = "messenger";
    public const string Sms = "sms";
    public const string AllKeyword = "all";

    /// <summary>
    /// What a message with <c>channels</c> omitted records: each recipient gets it on their preferred
    /// channel (the first of their addresses, in their order), falling back down that list.
    /// </summary>
    public const string DefaultKeyword = "default";

    public static readonly IReadOnlyList<string> All = [WhatsApp, Instagram, Telegram, Messenger, Sms];
}

/// <summary>Delivery status, ordered: a status never moves to a lower rank (failed is terminal).</summary>
public static class DeliveryStatuses
{
    public const string Accepted = "accepted";
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Read = "read";
    public const string Failed = "failed";

    public static int Rank(string status) => status switch
    {
        Accepted => 0,
        Sent => 1,
        Delivered => 2,
        Read => 3,
        Failed => 4,
        _ => -1,
    };
}

/// <summary>
/// What became of an edit or delete on one delivery's channel (docs/api.md §4.8): reported in
/// <c>message.status_changed</c> as <c>channel_change</c> and shown per delivery.
/// </summary>
public static class ChannelChangeOutcomes
{
    /// <summary>The provider edited the message the recipient got.</summary>
    public const string Edited = "edited";

    /// <summary>The delivery had not been sent yet: the send carries the new text.</summary>
    public const string EditedBeforeSend = "edited_before_send";

    public const string EditUnsupported = "edit_unsupported";
    public const string EditWindowExpired = "edit_window_expired";
    public const string EditFailed = "edit_failed";

    /// <summary>The provider removed the message from the recipient's chat (delete for everyone, unsend).</summary>
    public const string Recalled = "recalled";

    /// <summary>The delivery had not been sent yet: it is cancelled (failed with <c>message_deleted</c>) and never sent.</summary>
    public const string Cancelled = "cancelled";

    public const string RecallUnsupported = "recall_unsupported";
    public const string RecallWindowExpired = "recall_window_expired";
    public const string RecallFailed = "recall_failed";
}
