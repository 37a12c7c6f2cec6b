using System.Collections.Concurrent;
using Chat4All.BuildingBlocks.Hosting;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Wakes idle shard workers when their stream grows, so an event waits for its consumer a Redis round
/// trip rather than up to <see cref="EventBusOptions.MaxPollInterval"/> (SE.Redis multiplexes one
/// connection, so it cannot block in XREADGROUP). The publisher signals this process's workers directly
/// and every other instance through one Redis pub/sub channel carrying the stream key. Pub/sub is
/// at-most-once, so a lost wake-up only costs the poll interval it replaces (at most MaxPollInterval): correctness never rests
/// on it.
/// </summary>
internal sealed class StreamWakeups : IDisposable
{
    private readonly ConcurrentDictionary<string, WakeSignal> _signals = new(StringComparer.Ordinal);

    /// <summary><c>{prefix}:bus:wake</c> — stream keys that just received entries.</summary>
    public static RedisChannel Channel(string prefix) => RedisChannel.Literal(prefix + ":bus:wake");

    /// <summary>Marks <paramref name="stream"/> as grown; the next (or current) wait on it returns at once.</summary>
    public void Notify(string stream)
    {
        if (_signals.TryGetValue(stream, out var signal))
        {
            signal.Notify(); // otherwise nobody here consumes it
        }
    }

    /// <summary>Waits until <paramref name="stream"/> grows (true) or <paramref name="timeout"/> passes (false).</summary>
    public async Task<bool> WaitAsync(string stream, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var signal = _signals.GetOrAdd(stream, static _ => new WakeSignal());
        // The interval runs on the injected clock, so tests with a fake clock control the polling.
        using var timer = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken);
        try
        {
            await signal.WaitAsync(Timeout.InfiniteTimeSpan, linked.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // the poll interval passed: look anyway
        }
    }

    public void Dispose()
    {
        foreach (var signal in _signals.Values)
        {
            signal.Dispose();
        }
    }
}
