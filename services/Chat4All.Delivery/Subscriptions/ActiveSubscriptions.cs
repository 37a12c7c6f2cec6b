using Chat4All.Delivery.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Delivery.Subscriptions;

/// <summary>
/// Which topics the active webhook subscriptions want, remembered for a second: the fan-out consumes
/// every topic (three status events per delivery among them), and an event no subscription wants
/// needs no parsing, no audience lookup and no insert. A subscription created or enabled on this
/// instance is seen at once; on another instance within <see cref="Freshness"/>. Events published
/// before then are not owed to it.
/// </summary>
public sealed class ActiveSubscriptions(TimeProvider time)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private long _checkedAtTicks = long.MinValue;
    private volatile SubscribedTopics _topics = SubscribedTopics.None;

    public async ValueTask<SubscribedTopics> TopicsAsync(DeliveryDbContext db, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        var checkedAt = Interlocked.Read(ref _checkedAtTicks);
        if (checkedAt != long.MinValue && now - checkedAt < Freshness.Ticks)
        {
            return _topics;
        }

        var topics = await db.WebhookSubscriptions.AsNoTracking().Where(s => s.Status == WebhookSubscriptionStatuses.Active)
            .SelectMany(s => s.Events).Distinct().ToListAsync(cancellationToken);
        _topics = topics.Count == 0 ? SubscribedTopics.None : new SubscribedTopics(topics.ToHashSet(StringComparer.Ordinal));
        Interlocked.Exchange(ref _checkedAtTicks, now);
        return _topics;
    }

    /// <summary>A subscription became active here: look again at the next event.</summary>
    public void Changed() => Interlocked.Exchange(ref _checkedAtTicks, long.MinValue);
}

/// <summary>The topics at least one active subscription wants (<see cref="WebhookSubscription.AllEvents"/>: every topic).</summary>
public sealed class SubscribedTopics(HashSet<string> topics)
{
    public static readonly SubscribedTopics None = new([]);

    public bool Wants(string topic) => topics.Contains(WebhookSubscription.AllEvents) || topics.Contains(topic);
}
