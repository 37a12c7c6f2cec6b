using System.Collections.Concurrent;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Redis;
using Chat4All.Realtime.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.Realtime.Fanout;

/// <summary>
/// Cross-instance fan-out over Redis pub/sub, one channel per user: whichever instance consumed an
/// event publishes its frame to the channels of the users it concerns, and each instance listens on
/// the channels of the users it holds sockets for (subscribed with the first local connection,
/// unsubscribed with the last). One user's channel is read in order, so a conversation's frames
/// reach a socket in the order its events were consumed — seq order.
/// </summary>
public sealed partial class RealtimeFanout(
    IConnectionMultiplexer redis,
    IOptions<EventBusOptions> busOptions,
    RealtimeMetrics metrics,
    TimeProvider time,
    ILogger<RealtimeFanout> logger)
{
    private readonly ConcurrentDictionary<Guid, UserConnections> _users = new();
    private readonly string _prefix = busOptions.Value.KeyPrefix + ":rt:user:";

    /// <summary>A short name for this process, on presence records.</summary>
    public string InstanceId { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    public IEnumerable<RealtimeConnection> Connections => _users.Values.SelectMany(u => u.Snapshot());

    public int Count => _users.Values.Sum(u => u.Count);

    /// <summary>Publishes <paramref name="frame"/> to each user's channel; conversation events carry their conversation and seq.</summary>
    public Task PublishAsync(IEnumerable<Guid> userIds, string frame, Guid? conversationId = null, long? seq = null) =>
        PublishAsync(userIds, new Envelope(frame, conversationId, seq, time.GetUtcNow().ToUnixTimeMilliseconds()));

    /// <summary>
    /// Publishes a membership change of <paramref name="conversationId"/>: after this frame, the sockets
    /// of <paramref name="left"/> pass on no frame of the conversation beyond <paramref name="leftAtSeq"/>,
    /// and those of <paramref name="joined"/> pass them on again.
    /// </summary>
    public Task PublishMembershipAsync(IEnumerable<Guid> userIds, string frame, Guid conversationId, Guid? left = null, long? leftAtSeq = null,
        IReadOnlyList<Guid>? joined = null) =>
        PublishAsync(userIds, new Envelope(frame, conversationId, null, time.GetUtcNow().ToUnixTimeMilliseconds(), left, leftAtSeq, joined));

    private async Task PublishAsync(IEnumerable<Guid> userIds, Envelope envelope)
    {
        var payload = (envelope with { TraceParent = EventBusTracing.CurrentTraceParent() }).ToJson();
        var subscriber = redis.GetSubscriber();
        await Task.WhenAll(userIds.Distinct().Select(u => subscriber.PublishAsync(Channel(u), payload, RedisPubSub.OnPrimary)));
    }

    public async Task AddAsync(RealtimeConnection connection)
    {
        UserConnections user;
        Task? subscribing = null;
        while (true)
        {
            user = _users.GetOrAdd(connection.UserId, _ => new UserConnections());
            lock (user)
            {
                if (!user.Retired)
                {
                    break;
                }
            }

            // The last connection of this user left in between and retired the entry; make a new one.
        }

        lock (user)
        {
            user.Add(connection);
            if (user.Queue is null && user.Subscribing is null)
            {
                subscribing = user.Subscribing = SubscribeAsync(connection.UserId, user);
            }
            else
            {
                subscribing = user.Subscribing;
            }
        }

        if (subscribing is not null)
        {
            await subscribing;
        }
    }

    public async Task RemoveAsync(RealtimeConnection connection)
    {
        if (!_users.TryGetValue(connection.UserId, out var user))
        {
            return;
        }

        ChannelMessageQueue? unsubscribe = null;
        lock (user)
        {
            user.Remove(connection);
            if (user.Count == 0 && user.Queue is not null)
            {
                unsubscribe = user.Queue;
                user.Queue = null;
                user.Retired = true;
                _users.TryRemove(new KeyValuePair<Guid, UserConnections>(connection.UserId, user));
            }
        }

        if (unsubscribe is not null)
        {
            try
            {
                await unsubscribe.UnsubscribeAsync();
            }
            catch (RedisException ex)
            {
                LogUnsubscribeFailed(logger, ex, connection.UserId);
            }
        }
    }

    private async Task SubscribeAsync(Guid userId, UserConnections user)
    {
        // A queue is processed in order, one message at a time: the order frames were published in.
        var queue = await redis.GetSubscriber().SubscribeAsync(Channel(userId), RedisPubSub.OnPrimary);
        queue.OnMessage(message => Dispatch(user, message.Message));
        bool abandoned;
        lock (user)
        {
            user.Subscribing = null;
            abandoned = user.Count == 0;
            if (abandoned)
            {
                user.Retired = true;
                _users.TryRemove(new KeyValuePair<Guid, UserConnections>(userId, user));
            }
            else
            {
                user.Queue = queue;
            }
        }

        if (abandoned)
        {
            await queue.UnsubscribeAsync(); // every connection left while we were subscribing
        }
    }

    private void Dispatch(UserConnections user, RedisValue message)
    {
        if (Envelope.FromJson(message.ToString()) is not { } envelope)
        {
            return;
        }

        metrics.FannedOut(time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(envelope.PublishedAtMs));
        var connections = user.Snapshot();
        // The hand-off to this instance's sockets of the user, in the trace of the event behind the frame.
        using var span = RealtimeMetrics.ActivitySource.StartActivity("ws send", System.Diagnostics.ActivityKind.Producer,
            System.Diagnostics.ActivityContext.TryParse(envelope.TraceParent, null, out var parent) ? parent : default);
        span?.SetTag("chat4all.connections", connections.Length);
        span?.SetTag("chat4all.conversation.id", envelope.ConversationId);
        var bytes = System.Text.Encoding.UTF8.GetBytes(envelope.Frame);
        foreach (var connection in connections)
        {
            if (envelope is { ConversationId: { } joinedConversation, Joined: { } joined } && joined.Contains(connection.UserId))
            {
                connection.Rejoin(joinedConversation);
            }

            connection.Deliver(envelope.ConversationId, envelope.Seq, bytes);
            if (envelope is { ConversationId: { } leftConversation, Left: { } left, LeftAtSeq: { } leftAtSeq } && left == connection.UserId)
            {
                connection.Leave(leftConversation, leftAtSeq);
            }
        }
    }

    private RedisChannel Channel(Guid userId) => RedisChannel.Literal(_prefix + userId.ToString("N"));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unsubscribing from the fan-out channel of user {UserId} failed")]
    private static partial void LogUnsubscribeFailed(ILogger logger, Exception exception, Guid userId);

    private sealed class UserConnections
    {
        private RealtimeConnection[] _connections = [];

        public ChannelMessageQueue? Queue { get; set; }

        public Task? Subscribing { get; set; }

        /// <summary>Set when the entry left the dictionary; a connection arriving later makes a new one.</summary>
        public bool Retired { get; set; }

        public int Count => Volatile.Read(ref _connections).Length;

        public RealtimeConnection[] Snapshot() => Volatile.Read(ref _connections);

        // Callers hold the lock; readers take the array as it is (copy on write).
        public void Add(RealtimeConnection connection) => _connections = [.. _connections, connection];

        public void Remove(RealtimeConnection connection) => _connections = [.. _connections.Where(c => c != connection)];
    }
}
