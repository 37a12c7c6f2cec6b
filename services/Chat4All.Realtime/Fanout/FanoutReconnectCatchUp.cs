using Chat4All.Realtime.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat4All.Realtime.Fanout;

/// <summary>
/// Redis pub/sub keeps nothing for a subscriber that is away: whatever was published while this
/// instance's subscription connection was down (a Redis failover, a network blip) is gone. A later
/// frame shows the gap and the connection repairs it, but the last frames before a quiet spell have
/// no later frame to reveal them. So when the subscription connection comes back, this looks up the
/// latest logged seq of every conversation the local connections follow (one query per page of
/// conversations, not one per connection) and has each connection that is behind catch up from the
/// message log (docs/adr/0039). It looks twice, at once and a little later, because a publish may
/// still slip between the reconnect and the re-subscription.
/// </summary>
public sealed partial class FanoutReconnectCatchUp(
    IConnectionMultiplexer redis,
    RealtimeFanout fanout,
    IServiceScopeFactory scopes,
    TimeProvider time,
    ILogger<FanoutReconnectCatchUp> logger) : BackgroundService
{
    private const int PageSize = 1000;

    /// <summary>How long after a reconnect the second look is taken.</summary>
    public static readonly TimeSpan SecondLook = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _restored = new(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _restored.WaitAsync(stoppingToken);
                while (_restored.CurrentCount > 0)
                {
                    await _restored.WaitAsync(stoppingToken); // several reconnects at once: one round serves them all
                }

                await CatchUpAllAsync(stoppingToken);
                await Task.Delay(SecondLook, time, stoppingToken);
                await CatchUpAllAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            redis.ConnectionRestored -= OnConnectionRestored;
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            _restored.Release();
        }
    }

    /// <summary>Asks every local connection that is behind the message log to catch up; returns how many catch-ups were asked for.</summary>
    public async Task<int> CatchUpAllAsync(CancellationToken cancellationToken)
    {
        var connections = fanout.Connections.Select(c => (Connection: c, Positions: c.Positions())).Where(c => c.Positions.Count > 0).ToList();
        var conversations = connections.SelectMany(c => c.Positions).Select(p => p.Key).Distinct().ToArray();
        var asked = 0;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<RealtimeDbContext>();
            var latest = new Dictionary<Guid, long>();
            foreach (var page in conversations.Chunk(PageSize))
            {
                var rows = await db.MessageLog.AsNoTracking().Where(m => page.Contains(m.ConversationId))
                    .GroupBy(m => m.ConversationId).Select(g => new { ConversationId = g.Key, Seq = g.Max(m => m.Seq) })
                    .ToListAsync(cancellationToken);
                foreach (var row in rows)
                {
                    latest[row.ConversationId] = row.Seq;
                }
            }

            foreach (var (connection, positions) in connections)
            {
                foreach (var (conversationId, _) in positions)
                {
                    if (latest.TryGetValue(conversationId, out var seq) && connection.CatchUpIfBehind(conversationId, seq))
                    {
                        asked++;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The database may be failing over too; the clients' own gap detection still covers later frames.
            LogCatchUpCheckFailed(logger, ex, conversations.Length);
            return asked;
        }

        if (asked > 0)
        {
            LogCaughtUp(logger, asked, conversations.Length);
        }

        return asked;
    }

    public override void Dispose()
    {
        _restored.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The fan-out subscription came back: {CatchUps} catch-ups asked for across {Conversations} followed conversations")]
    private static partial void LogCaughtUp(ILogger logger, int catchUps, int conversations);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking {Conversations} followed conversations for frames lost while the fan-out subscription was down failed")]
    private static partial void LogCatchUpCheckFailed(ILogger logger, Exception exception, int conversations);
}
