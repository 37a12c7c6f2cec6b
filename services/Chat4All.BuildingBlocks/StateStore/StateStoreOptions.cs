using System.ComponentModel.DataAnnotations;
using Chat4All.Contracts;

namespace Chat4All.BuildingBlocks.StateStore;

/// <summary>State-store settings. Bound from <c>Chat4All:StateStore</c>.</summary>
public sealed class StateStoreOptions
{
    public const string SectionName = "Chat4All:StateStore";

    /// <summary>
    /// The one topic state events may go to. A rule kept from when Dapr's outbox (one
    /// <c>outboxPublishTopic</c> per component) carried them in the dapr runtime; it still catches an
    /// event sent to the wrong topic by mistake (ADR 0016).
    /// </summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9._-]+$")]
    public string OutboxTopic { get; set; } = Topics.MessageStatusChanged;
}
