using Chat4All.BuildingBlocks.StateStore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.Deliveries;

/// <summary>
/// Runs delivery attempts when they are due, up to <see cref="DeliveryOptions.MaxConcurrency"/> at
/// once, so a slow or failing channel delays only its own deliveries — nothing waits in line
/// behind a retry. Every key due at once goes into one batch (up to <see cref="DeliveryOptions.BatchSize"/>),
/// which <see cref="DeliveryProcessor.AttemptAsync"/> claims, reads and writes as a whole; a batch
/// that fails is attempted again one key at a time, so one poisoned record cannot hold back the rest. The schedule is in memory for speed, but the records are the truth: every
/// <see cref="DeliveryOptions.SweepInterval"/> (and at start) the dispatcher asks the state store for
/// pending deliveries and schedules any it does not know, which is how work left by a crashed or
/// stopped instance is finished by the survivors.
/// </summary>
public sealed partial class DeliveryDispatcher(
    IServiceScopeFactory scopes,
    IOptions<DeliveryOptions> options,
    TimeProvider time,
    ILogger<DeliveryDispatcher> logger) : BackgroundService
{
    private const int SweepPageSize = 1000;
    private readonly DeliveryOptions _options = options.Value;
    private readonly Lock _lock = new();
    private readonly PriorityQueue<string, DateTimeOffset> _due = new();
    private readonly Dictionary<string, DateTimeOffset> _scheduled = new(StringComparer.Ordinal);
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>This instance's name on the claims it takes.</summary>
    public string InstanceId { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..^24];

    /// <summary>Attempts <paramref name="key"/> at <paramref name="dueAt"/> (or sooner, if it was already due sooner).</summary>
    public void Schedule(string key, DateTimeOffset dueAt)
    {
        lock (_lock)
        {
            if (_scheduled.TryGetValue(key, out var existing) && existing <= dueAt)
            {
                return;
            }

            _scheduled[key] = dueAt;
            _due.Enqueue(key, dueAt);
        }

        _wake.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sweeping = SweepLoopAsync(stoppingToken);
        using var slots = new SemaphoreSlim(_options.MaxConcurrency);
        var inFlight = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Every due key up to the batch size and the free slots goes into one batch.
                await slots.WaitAsync(stoppingToken);
                var free = 1;
                while (free < _options.BatchSize && slots.Wait(0, CancellationToken.None))
                {
                    free++;
                }

                var (keys, wait) = TakeDue(free);
                if (keys.Count < free)
                {
                    slots.Release(free - keys.Count);
                }

                if (keys.Count == 0)
                {
                    await WaitAsync(wait, stoppingToken);
                    continue;
                }

                inFlight.RemoveAll(t => t.IsCompleted);
                inFlight.Add(RunAsync(keys, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping: attempts in flight finish or are cancelled below; their records stay pending
        }

        await Task.WhenAll(inFlight);
        await sweeping;
    }

    /// <summary>Finds pending deliveries this instance has not scheduled (another instance's, or ones whose schedule was lost).</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<IStateStore>();
        var pending = await store.QueryAsync<DeliveryRecord>("status", DeliveryRecord.Pending, SweepPageSize, cancellationToken);
        foreach (var item in pending)
        {
            Schedule(item.Key, item.Value.NextAttemptAt);
        }

        return pending.Count;
    }

    private async Task RunAsync(List<string> keys, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Yield();
            if (keys.Count == 1 || !await TryAttemptAsync(keys, stoppingToken))
            {
                // Alone, or after the batch failed: one key at a time, so a poisoned record fails
                // alone and the others of its batch are attempted all the same.
                foreach (var key in keys)
                {
                    if (!await TryAttemptAsync([key], stoppingToken))
                    {
                        Schedule(key, time.GetUtcNow() + _options.InitialRetryDelay);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // the records stay pending (or claimed until their claims expire); the next sweep finds them
        }
        finally
        {
            lock (_lock)
            {
                _running.ExceptWith(keys);
            }

            slots.Release(keys.Count);
        }
    }

    /// <summary>False (logged) when the attempt failed for another reason than a provider's answer, e.g. the state store or the bus is unavailable.</summary>
    private async Task<bool> TryAttemptAsync(List<string> keys, CancellationToken stoppingToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<DeliveryProcessor>().AttemptAsync(keys, stoppingToken);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // Try again later rather than lose the work.
            LogAttemptFailed(logger, ex, keys.Count, keys[0], time.GetUtcNow() + _options.InitialRetryDelay);
            return false;
        }
    }

    /// <summary>Up to <paramref name="max"/> due keys, marked running; with none, how long until the earliest is due.</summary>
    private (List<string> Keys, TimeSpan Wait) TakeDue(int max)
    {
        var keys = new List<string>();
        lock (_lock)
        {
            var now = time.GetUtcNow();
            while (keys.Count < max && _due.TryPeek(out var key, out var dueAt))
            {
                if (!_scheduled.TryGetValue(key, out var current) || current != dueAt)
                {
                    _due.Dequeue(); // superseded by an earlier schedule of the same key
                    continue;
                }

                if (dueAt > now)
                {
                    return (keys, keys.Count > 0 ? TimeSpan.Zero : dueAt - now);
                }

                _due.Dequeue();
                if (_running.Contains(key))
                {
                    // An attempt of this key is in flight; look again once it has finished.
                    var later = now + TimeSpan.FromMilliseconds(50);
                    _scheduled[key] = later;
                    _due.Enqueue(key, later);
                    continue;
                }

                _scheduled.Remove(key);
                _running.Add(key);
                keys.Add(key);
            }

            return (keys, keys.Count > 0 ? TimeSpan.Zero : Timeout.InfiniteTimeSpan);
        }
    }

    private async Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait == Timeout.InfiniteTimeSpan)
        {
            await _wake.WaitAsync(cancellationToken);
            return;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(wait > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait);
        try
        {
            await _wake.WaitAsync(timer.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the earliest item is due
        }
    }

    private async Task SweepLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var found = await SweepAsync(stoppingToken);
                if (found > 0)
                {
                    LogSwept(logger, found);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogSweepFailed(logger, ex);
            }

            try
            {
                await Task.Delay(_options.SweepInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} deliveries (the first {Key}) could not be attempted; one by one now, or again at {RetryAt:o}")]
    private static partial void LogAttemptFailed(ILogger logger, Exception exception, int count, string key, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sweep found {Count} pending deliveries")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping for pending deliveries failed; the next sweep will try again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
