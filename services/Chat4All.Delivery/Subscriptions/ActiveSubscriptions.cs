using Chat4All.Delivery.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Delivery.Subscriptions;

/// <summary>
/// Whether any webhook subscription is active, remembered for a second: the fan-out consumes every
/// topic (three status events per delivery among them), and without a subscriber an event needs no
/// audience lookup and no insert. A subscription created or enabled on this instance is seen at
/// once; on another instance within <see cref="Freshness"/>. Events published before then are not
/// owed to it.
/// </summary>
public sealed class ActiveSubscriptions(TimeProvider time)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private long _checkedAtTicks = long.MinValue;
    private volatile bool _any;

    public async ValueTask<bool> AnyAsync(DeliveryDbContext db, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        var checkedAt = Interlocked.Read(ref _checkedAtTicks);
        if (checkedAt != long.MinValue && now - checkedAt < Freshness.Ticks)
        {
            return _any;
        }

        _any = await db.WebhookSubscriptions.AsNoTracking().AnyAsync(s => s.Status == WebhookSubscriptionStatuses.Active, cancellationToken);
        Interlocked.Exchange(ref _checkedAtTicks, now);
        return _any;
    }

    /// <summary>A subscription became active here: look again at the next event.</summary>
    public void Changed() => Interlocked.Exchange(ref _checkedAtTicks, long.MinValue);
}
