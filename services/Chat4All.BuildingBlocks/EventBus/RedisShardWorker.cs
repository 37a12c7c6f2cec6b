using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>What every shard worker and coordinator of one host shares.</summary>
internal sealed record RedisConsumerContext(
    IConnectionMultiplexer Redis,
    IntegrationEventDispatcher Dispatcher,
    EventBusMetrics Metrics,
    EventBusOptions Options,
    TimeProvider Time,
    ILogger Logger,
    string LeaseOwner,
    StreamWakeups Wakeups);

/// <summary>
/// Processes one (group, topic, shard) while this instance holds its lease, in order: one entry at
/// a time, or a whole read batch at once for a batch consumer (falling back to one at a time when
/// the batch fails): first everything pending in the group for the shard (claimed from whichever consumer had
/// it — the previous owner's lease expired, so nobody else works on them), then new entries. A
/// failing entry is retried in place, holding the shard back (order first), and dead-lettered after
/// the last attempt. An entry is acknowledged only once handled, skipped as a duplicate, or
/// dead-lettered.
/// </summary>
internal sealed class RedisShardWorker : IDisposable
{
    private const int BatchSize = 100;
    private static readonly TimeSpan MaxOutageBackoff = TimeSpan.FromSeconds(5);

    private readonly EventSubscription _subscription;
    private readonly RedisConsumerContext _context;
    private readonly RedisShardLease _lease;
    private readonly string _stream;
    private readonly bool _batches;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _leaseLost = new();
    private long _leaseConfirmedAtTicks;

    public RedisShardWorker(EventSubscription subscription, int shard, RedisShardLease lease, RedisConsumerContext context)
    {
        _subscription = subscription;
        _context = context;
        _lease = lease;
        Shard = shard;
        _stream = RedisStreamKeys.Stream(context.Options.KeyPrefix, subscription.Topic, shard);
        _batches = subscription.ConsumerTypes.All(typeof(IIntegrationEventBatchConsumer).IsAssignableFrom);
    }

    public int Shard { get; }

    public RedisShardLease Lease => _lease;

    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Set once asked to hand the shard back; it finishes the entry in hand first.</summary>
    public bool Stopping => _stop.IsCancellationRequested;

    public bool IsLeaseLost => _leaseLost.IsCancellationRequested;

    /// <summary>
    /// When the coordinator last confirmed the lease (written by the coordinator, read by the
    /// worker, hence the interlocked ticks); past <see cref="EventBusOptions.LeaseDuration"/> the
    /// shard may be someone else's.
    /// </summary>
    public DateTimeOffset LeaseConfirmedAt
    {
        get => new(Interlocked.Read(ref _leaseConfirmedAtTicks), TimeSpan.Zero);
        set => Interlocked.Exchange(ref _leaseConfirmedAtTicks, value.UtcTicks);
    }

    private string Group => _subscription.ConsumerGroup;

    private string Topic => _subscription.Topic;

    private IDatabase Database => _context.Redis.GetDatabase();

    public void Start() => Completion = Task.Run(RunAsync);

    /// <summary>Graceful: the handler in flight completes, then the worker releases the lease.</summary>
    public void Stop() => _stop.Cancel();

    /// <summary>Abrupt: another instance may own the shard now, so even the handler in flight is cancelled.</summary>
    public void LeaseLost()
    {
        _leaseLost.Cancel();
        _stop.Cancel();
    }

    public void Dispose()
    {
        _stop.Dispose();
        _leaseLost.Dispose();
    }

    private async Task RunAsync()
    {
        var halt = _stop.Token;
        var leaseLost = _leaseLost.Token;
        var recover = true;
        var failures = 0;
        var nextSweep = DateTimeOffset.MinValue;
        var idleWait = _context.Options.PollInterval;
        try
        {
            while (!halt.IsCancellationRequested)
            {
                try
                {
                    if (recover)
                    {
                        // On taking the shard, and after any Redis failure (a reply may have been lost
                        // after the server delivered entries to us), everything pending is ours to redo.
                        await EnsureGroupAsync();
                        await SweepPendingAsync(TimeSpan.Zero, halt, leaseLost);
                        await ForgetIdleConsumersAsync();
                        recover = false;
                        nextSweep = _context.Time.GetUtcNow() + _context.Options.ClaimIdleAfter;
                    }
                    else if (_context.Time.GetUtcNow() >= nextSweep)
                    {
                        await SweepPendingAsync(_context.Options.ClaimIdleAfter, halt, leaseLost);
                        nextSweep = _context.Time.GetUtcNow() + _context.Options.ClaimIdleAfter;
                    }

                    var entries = await Database.StreamReadGroupAsync(_stream, Group, _context.Options.ConsumerName, StreamPosition.NewMessages, BatchSize);
                    failures = 0;
                    if (entries.Length == 0)
                    {
                        // Woken by a publish, the next read finds the entry at once; otherwise the wait
                        // grows, so an idle shard costs a read every MaxPollInterval, not every PollInterval.
                        var woken = await _context.Wakeups.WaitAsync(_stream, idleWait, _context.Time, halt);
                        idleWait = woken ? _context.Options.PollInterval : Max(_context.Options.PollInterval, Min(idleWait * 2, _context.Options.MaxPollInterval));
                        continue;
                    }

                    idleWait = _context.Options.PollInterval;

                    if (entries.Length > 1 && _batches && await TryProcessBatchAsync(entries, halt, leaseLost))
                    {
                        continue;
                    }

                    await ProcessAsync(entries, halt, leaseLost);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException && !halt.IsCancellationRequested)
                {
                    recover = true;
                    failures++;
                    var delay = OutageBackoff(failures);
                    EventBusLog.ShardRedisUnavailable(_context.Logger, ex, Topic, Shard, Group, delay);
                    await Task.Delay(delay, _context.Time, halt);
                }
            }
        }
        catch (OperationCanceledException) when (halt.IsCancellationRequested)
        {
            // stopped or lease lost: whatever is unacknowledged stays pending for the next owner
        }
        catch (ObjectDisposedException)
        {
            // the connection was disposed: the host is being torn down
        }
        finally
        {
            await ReleaseLeaseAsync();
        }
    }

    /// <summary>
    /// A read batch to a batch consumer as one unit, acknowledged with one XACK. Entries that cannot be
    /// decoded are dead-lettered first (nothing can interpret them; the others keep their order).
    /// False when the consumer failed the batch: nothing was acknowledged, and the caller takes the
    /// entries one at a time, so a poisoned event is retried and dead-lettered alone.
    /// </summary>
    private async Task<bool> TryProcessBatchAsync(StreamEntry[] entries, CancellationToken halt, CancellationToken leaseLost)
    {
        var events = new List<IntegrationEvent>(entries.Length);
        var ids = new List<RedisValue>(entries.Length);
        foreach (var entry in entries)
        {
            if (RedisStreamEntries.TryDecode(Topic, entry, out var integrationEvent, out var malformed))
            {
                events.Add(integrationEvent);
                ids.Add(entry.Id);
            }
            else
            {
                await DeadLetterAsync(entry, malformed, attempts: 0);
            }
        }

        if (events.Count == 0)
        {
            return true;
        }

        EnsureLeaseIsFresh(halt);
        var outcome = await _context.Dispatcher.DispatchBatchAsync(_subscription, events, leaseLost);
        if (outcome.Status is DispatchStatus.Failed)
        {
            EventBusLog.BatchFailed(_context.Logger, outcome.Error!, _subscription.ConsumerNames, events.Count, Topic, Shard);
            return false;
        }

        await Database.StreamAcknowledgeAsync(_stream, Group, [.. ids]);
        return true;
    }

    /// <summary>
    /// Entries one at a time, in order, each retried in place and dead-lettered after the last
    /// attempt — with the dedupe of the whole list in one lookup, and the handled entries' marks and
    /// acknowledgement in one flight and one <c>XACK</c> (ADR 0044): before a retry wait or a dead
    /// letter, at the end, and when stopped. A failing entry thus holds back the others only for its
    /// own attempts, and never leaves an entry handled before it unacknowledged meanwhile.
    /// </summary>
    private async Task ProcessAsync(IReadOnlyList<StreamEntry> entries, CancellationToken halt, CancellationToken leaseLost)
    {
        var decoded = new List<(StreamEntry Entry, IntegrationEvent Event)>(entries.Count);
        foreach (var entry in entries)
        {
            if (RedisStreamEntries.TryDecode(Topic, entry, out var integrationEvent, out var malformed))
            {
                decoded.Add((entry, integrationEvent));
            }
            else
            {
                // Not ours to interpret and retrying cannot help, but never drop it: park it for an operator.
                await DeadLetterAsync(entry, malformed, attempts: 0);
            }
        }

        if (decoded.Count == 0)
        {
            return;
        }

        var seen = await _context.Dispatcher.AlreadyHandledAsync(_subscription, [.. decoded.Select(d => d.Event)], leaseLost);
        var done = new HandledEntries();
        try
        {
            for (var i = 0; i < decoded.Count; i++)
            {
                if (halt.IsCancellationRequested)
                {
                    break; // the rest stay pending; the next owner claims them first
                }

                if (seen[i])
                {
                    done.Skipped(decoded[i].Entry.Id);
                }
                else if (await HandleWithRetriesAsync(decoded[i].Entry, decoded[i].Event, done, halt))
                {
                    done.Handled(decoded[i].Entry.Id, decoded[i].Event.Id);
                }
            }
        }
        catch (OperationCanceledException) when (halt.IsCancellationRequested)
        {
            // Stopped or lease lost mid-entry: what was handled before it is still acknowledged, so the
            // next owner does not do it again; a failure to do so only means it will.
            await FlushAsync(done).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }

        await FlushAsync(done);
    }

    /// <summary>True once handled; false once dead-lettered (which acknowledges it).</summary>
    private async Task<bool> HandleWithRetriesAsync(StreamEntry entry, IntegrationEvent integrationEvent, HandledEntries done, CancellationToken halt)
    {
        var maxAttempts = _context.Options.MaxDeliveryAttempts;
        for (var attempt = 1; ; attempt++)
        {
            EnsureLeaseIsFresh(halt);
            var outcome = await _context.Dispatcher.HandleAsync(_subscription, integrationEvent, _leaseLost.Token);
            if (outcome.Status is not DispatchStatus.Failed)
            {
                return true;
            }

            // The entries handled before this one are settled before it waits or is parked.
            await FlushAsync(done);
            var error = outcome.Error!;
            if (attempt >= maxAttempts)
            {
                await DeadLetterAsync(entry, $"{error.GetType().FullName}: {error.Message}", attempt);
                return false;
            }

            var delay = RetryDelay(attempt);
            _context.Metrics.Retried(Topic, Group);
            EventBusLog.HandlerFailed(_context.Logger, error, _subscription.ConsumerNames, integrationEvent.Id, Topic, attempt, maxAttempts, delay);
            await Task.Delay(delay, _context.Time, halt);
        }
    }

    // Marks before the XACK: a crash in between redelivers entries the dedupe then skips.
    private async Task FlushAsync(HandledEntries done)
    {
        if (done.EntryIds.Count == 0)
        {
            return;
        }

        await _context.Dispatcher.MarkHandledAsync(_subscription, done.EventIds, CancellationToken.None);
        await Database.StreamAcknowledgeAsync(_stream, Group, [.. done.EntryIds]);
        done.Clear();
    }

    // Appended before the XACK: a crash in between can leave a second copy of a dead letter (it
    // carries the event id), never a lost event.
    private async Task DeadLetterAsync(StreamEntry entry, string error, int attempts)
    {
        var fields = entry.Values.ToList();
        fields.Add(new NameValueEntry(RedisStreamEntries.Error, error));
        fields.Add(new NameValueEntry(RedisStreamEntries.FailedAt, _context.Time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)));
        fields.Add(new NameValueEntry(RedisStreamEntries.Attempts, attempts));
        fields.Add(new NameValueEntry(RedisStreamEntries.ConsumerGroup, Group));
        await Database.StreamAddAsync(RedisStreamKeys.DeadLetterStream(_context.Options.KeyPrefix, Topic), [.. fields]);
        await Database.StreamAcknowledgeAsync(_stream, Group, entry.Id);
        _context.Metrics.DeadLettered(Topic, Group);
        var eventId = entry.Values.FirstOrDefault(v => v.Name == RedisStreamEntries.Id).Value;
        EventBusLog.DeadLettered(_context.Logger, eventId.IsNull ? entry.Id.ToString() : eventId.ToString(), Topic, Group, attempts, error);
    }

    /// <summary>
    /// Claims (XAUTOCLAIM) and processes, in id order, the group's entries of this shard that have
    /// been pending at least <paramref name="minIdle"/>. Holding the lease makes zero safe: no other
    /// instance may be working on this shard.
    /// </summary>
    private async Task SweepPendingAsync(TimeSpan minIdle, CancellationToken halt, CancellationToken leaseLost)
    {
        RedisValue cursor = "0-0";
        var reclaimed = 0;
        do
        {
            var result = await Database.StreamAutoClaimAsync(_stream, Group, _context.Options.ConsumerName, (long)minIdle.TotalMilliseconds, cursor, BatchSize);
            if (result.DeletedIds.Length > 0)
            {
                // Trimmed or deleted from the stream while pending: nothing left to deliver.
                await Database.StreamAcknowledgeAsync(_stream, Group, result.DeletedIds);
            }

            halt.ThrowIfCancellationRequested();
            var claimed = result.ClaimedEntries.Where(e => !e.IsNull).ToList();
            reclaimed += claimed.Count;
            await ProcessAsync(claimed, halt, leaseLost);

            cursor = result.NextStartId;
        }
        while (cursor != "0-0");

        if (reclaimed > 0)
        {
            EventBusLog.Reclaimed(_context.Logger, reclaimed, Topic, Shard, Group);
        }
    }

    // "0" rather than "$": a group created after events were published (first start, or Redis lost
    // its data) must still see them.
    private async Task EnsureGroupAsync()
    {
        try
        {
            await Database.StreamCreateConsumerGroupAsync(_stream, Group, StreamPosition.Beginning, createStream: true);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // already there
        }
    }

    // Every process start is a new consumer name; once their entries are claimed, earlier ones are
    // noise in XINFO. Only the lease holder reads this shard, so no live reader is removed.
    private async Task ForgetIdleConsumersAsync()
    {
        foreach (var consumer in await Database.StreamConsumerInfoAsync(_stream, Group))
        {
            if (consumer.PendingMessageCount == 0 && consumer.Name != _context.Options.ConsumerName)
            {
                await Database.StreamDeleteConsumerAsync(_stream, Group, consumer.Name);
            }
        }
    }

    private async Task ReleaseLeaseAsync()
    {
        try
        {
            await _lease.ReleaseAsync();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            // It expires by itself; the next owner just waits a little longer.
        }
    }

    // Renewal is the coordinator's job; should it fall behind (a stalled process), the worker must
    // not start another attempt on a lease that may have expired and passed to another instance.
    private void EnsureLeaseIsFresh(CancellationToken halt)
    {
        if (_context.Time.GetUtcNow() - LeaseConfirmedAt >= _context.Options.LeaseDuration * 0.9)
        {
            EventBusLog.ShardLeaseLost(_context.Logger, Shard, Topic, Group);
            LeaseLost();
        }

        halt.ThrowIfCancellationRequested();
    }

    private TimeSpan RetryDelay(int attempt)
    {
        // Exponential with a little jitter so instances retrying the same failure do not stay in step.
        var exponential = _context.Options.InitialRetryDelay * Math.Pow(2, Math.Min(attempt - 1, 20));
        return exponential * (1 + (Random.Shared.NextDouble() * 0.1));
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan OutageBackoff(int failures)
    {
        var delay = TimeSpan.FromMilliseconds(100 * Math.Pow(2, Math.Min(failures - 1, 10)));
        return delay < MaxOutageBackoff ? delay : MaxOutageBackoff;
    }

    /// <summary>Entries settled since the last flush: every one to acknowledge, and the event ids handled among them to mark.</summary>
    private sealed class HandledEntries
    {
        public List<RedisValue> EntryIds { get; } = [];

        public List<Guid> EventIds { get; } = [];

        public void Skipped(RedisValue entryId) => EntryIds.Add(entryId);

        public void Handled(RedisValue entryId, Guid eventId)
        {
            EntryIds.Add(entryId);
            EventIds.Add(eventId);
        }

        public void Clear()
        {
            EntryIds.Clear();
            EventIds.Clear();
        }
    }
}
