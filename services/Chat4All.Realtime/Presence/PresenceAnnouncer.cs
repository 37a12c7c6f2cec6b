using System.Diagnostics;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Presence;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;

namespace Chat4All.Realtime.Presence;

/// <summary>Publishes <c>presence.changed</c> for a transition (partition key: the user), which the realtime consumers fan out to the user's contacts.</summary>
public sealed class PresenceAnnouncer(IEventBus bus)
{
    public async Task AnnounceAsync(PresenceChange? change, CancellationToken cancellationToken)
    {
        if (change is null)
        {
            return;
        }

        var changed = new PresenceChanged(change.UserId, change.Online ? PresenceStatuses.Online : PresenceStatuses.Offline, change.Online ? null : change.At);
        await bus.PublishAsync(new IntegrationEvent(Guid.CreateVersion7(change.At), Topics.PresenceChanged, nameof(PresenceChanged), change.UserId.ToString(),
            JsonSerializer.Serialize(changed, ContractJson.Options), change.At, EventBusTracing.CurrentTraceParent()), cancellationToken);
    }
}
