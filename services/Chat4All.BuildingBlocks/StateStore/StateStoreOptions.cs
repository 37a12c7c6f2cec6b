using System.ComponentModel.DataAnnotations;
using Chat4All.Contracts;

namespace Chat4All.BuildingBlocks.StateStore;

/// <summary>State-store settings. Bound from <c>Chat4All:StateStore</c>.</summary>
public sealed class StateStoreOptions
{
    public const string SectionName = "Chat4All:StateStore";

    /// <summary>
    /// The one topic state events may go to: the <c>outboxPublishTopic</c> of the
    /// <see cref="Components.StateStore"/> component, because Dapr's outbox publishes every projection
    /// there whatever the event says. The standalone adapter enforces the same rule, so code that
    /// works there cannot lose events in the dapr runtime.
    /// </summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9._-]+$")]
    public string OutboxTopic { get; set; } = Topics.MessageStatusChanged;
}
