using Chat4All.BuildingBlocks.Presence;
using Chat4All.Contracts.Realtime;
using Chat4All.Realtime.Connections;
using Chat4All.Realtime.Fanout;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.Realtime.Presence;

/// <summary>
/// One loop for every connection of the instance (not a timer per socket, which would cost 10,000
/// wake-ups a second at 10,000 connections): pings, pong timeouts and token expiry about once a
/// second; every third of the presence TTL it renews this instance's connections in presence and
/// sweeps connections whose instance stopped renewing them (it died), announcing who went offline.
/// </summary>
public sealed partial class HeartbeatService(
    RealtimeFanout fanout,
    IPresenceTracker presence,
    PresenceAnnouncer announcer,
    IOptions<RealtimeOptions> options,
    IOptions<PresenceOptions> presenceOptions,
    TimeProvider time,
    ILogger<HeartbeatService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var tick = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, settings.PongTimeout.Ticks / 2));
        var renewEvery = presenceOptions.Value.HeartbeatInterval;
        var renewedAt = DateTimeOffset.MinValue;
        using var timer = new PeriodicTimer(tick, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = time.GetUtcNow();
                var ping = WebSocketEndpoint.Bytes(Fanout.Frames.Serialize(FrameTypes.Ping, null, now));
                foreach (var connection in fanout.Connections)
                {
                    connection.Tick(now, settings.HeartbeatInterval, settings.PongTimeout, ping);
                }

                if (now - renewedAt >= renewEvery)
                {
                    renewedAt = now;
                    await RenewAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        try
        {
            await presence.HeartbeatAsync(fanout.InstanceId, [.. fanout.Connections.Select(c => (c.UserId, c.Id))], cancellationToken);
            foreach (var change in await presence.SweepAsync(cancellationToken))
            {
                await announcer.AnnounceAsync(change, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRenewFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing presence failed; connections stay online until their TTL runs out")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception);
}
