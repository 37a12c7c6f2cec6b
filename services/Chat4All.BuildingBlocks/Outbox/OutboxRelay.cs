using System.Diagnostics.Metrics;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Outbox;

/// <summary>
/// Publishes a DbContext's outbox through the event bus. Rows are split into buckets by partition
/// key; a relay works on a bucket only while it holds that bucket's transaction-scoped advisory
/// lock, and publishes the bucket's pending rows in insertion order, so several relays (instances)
/// run at once without reordering a conversation's events. A failed row holds back the later rows
/// of its partition key, is retried with exponential backoff, and after <see cref="OutboxOptions.MaxAttempts"/>
/// goes to the dead-letter topic with its error. A row is marked published only after the broker
/// accepted it, so a crash at any point loses nothing (it may publish twice; consumers dedupe).
/// </summary>
public sealed partial class OutboxRelay<TContext>(
    IServiceScopeFactory scopes,
    IEventBus bus,
    OutboxSignal signal,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    OutboxMetrics metrics,
    ILogger<OutboxRelay<TContext>> logger) : BackgroundService
    where TContext : DbContext
{
    private static readonly TimeSpan PendingObservationInterval = TimeSpan.FromSeconds(5);
    private readonly OutboxOptions _options = options.Value;
    private readonly WakeSignal _wake = signal.Register(typeof(TContext));
    private DateTimeOffset _pendingObservedAt = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Commits in this process wake the relay at once; the poll is for rows other instances left
        // behind and for retries, so while passes keep finding nothing it backs off to MaxPollInterval.
        var idleWait = _options.PollInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            var published = 0;
            try
            {
                published = await RelayOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogRelayFailed(logger, ex, typeof(TContext).Name);
                await Task.Delay(_options.InitialRetryDelay, time, stoppingToken);
            }

            if (published == 0)
            {
                try
                {
                    var woken = await _wake.WaitAsync(idleWait, stoppingToken);
                    idleWait = woken ? _options.PollInterval : Longer(_options.PollInterval, Shorter(idleWait * 2, _options.MaxPollInterval));
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
            }
            else
            {
                idleWait = _options.PollInterval;
            }
        }
    }

    /// <summary>One pass over every bucket with due rows. Returns how many rows were published.</summary>
    public async Task<int> RelayOnceAsync(CancellationToken cancellationToken)
    {
        List<int> buckets;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<TContext>();
            var now = time.GetUtcNow();
            buckets = await db.Set<OutboxMessage>()
                .Where(m => m.PublishedAt == null && m.NextAttemptAt <= now)
                .Select(m => m.Bucket).Distinct().ToListAsync(cancellationToken);
            // The pending gauge is worth a count(*) every few seconds, not on every (busy) pass.
            if (now - _pendingObservedAt >= PendingObservationInterval)
            {
                _pendingObservedAt = now;
                metrics.ObservePending(typeof(TContext).Name, await db.Set<OutboxMessage>().CountAsync(m => m.PublishedAt == null, cancellationToken));
            }
        }

        var published = 0;
        await Parallel.ForEachAsync(
            buckets,
            new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = cancellationToken },
            async (bucket, ct) => Interlocked.Add(ref published, await RelayBucketAsync(bucket, ct)));
        return published;
    }

    private async Task<int> RelayBucketAsync(int bucket, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var table = db.Model.FindEntityType(typeof(OutboxMessage))!;
        var schema = table.GetSchema() ?? "public";
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        var locked = await db.Database
            .SqlQueryRaw<bool>("SELECT pg_try_advisory_xact_lock({0}, {1}) AS \"Value\"", (int)PartitionHash.Of(schema + "." + OutboxModel.TableName), bucket)
            .SingleAsync(cancellationToken);
        if (!locked)
        {
            return 0; // another relay is on it
        }

        // Losing this commit in a crash only means publishing its rows again, which consumers dedupe
        // (at-least-once by design), so it need not wait for the WAL flush; the event rows themselves
        // were committed durably by their writers.
        await db.Database.ExecuteSqlRawAsync("SET LOCAL synchronous_commit TO OFF", cancellationToken);

        // The schema comes from our own EF model, never from input; values are parameters.
#pragma warning disable EF1003
        var rows = await db.Set<OutboxMessage>()
            .FromSqlRaw(
                $"SELECT * FROM \"{schema}\".\"{OutboxModel.TableName}\" WHERE bucket = {{0}} AND published_at IS NULL " +
                "ORDER BY position LIMIT {1} FOR UPDATE SKIP LOCKED", bucket, _options.BatchSize)
            .ToListAsync(cancellationToken);
#pragma warning restore EF1003

        // Rows that may go now, in order: a key's later rows wait behind one that is not due (order first).
        var heldBack = new HashSet<string>(StringComparer.Ordinal);
        var due = new List<OutboxMessage>(rows.Count);
        var now = time.GetUtcNow();
        foreach (var row in rows)
        {
            if (heldBack.Contains(row.PartitionKey) || row.NextAttemptAt > now)
            {
                heldBack.Add(row.PartitionKey);
                continue;
            }

            due.Add(row);
        }

        // Only an all-or-none batch: after a partial one the rows already published would go out twice.
        var published = due.Count > 1 && bus.PublishesBatchesAtomically && await TryPublishBatchAsync(due, cancellationToken) ? due.Count : 0;
        if (published == 0)
        {
            // One at a time: a failing row is retried with backoff (and finally dead-lettered) while
            // the rest of the bucket goes on.
            heldBack.Clear();
            foreach (var row in due.Where(r => !heldBack.Contains(r.PartitionKey)))
            {
                switch (await PublishRowAsync(row, cancellationToken))
                {
                    case RowOutcome.Published:
                        published++;
                        break;
                    case RowOutcome.Retrying:
                        heldBack.Add(row.PartitionKey); // later events of this key wait for this one
                        break;
                }
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return published;
    }

    // Dead-lettering needs the broker too: if it is down as a whole, the event is not the problem,
    // so it stays pending and is offered to its own topic again first when the broker returns.
    /// <summary>All due rows in one publish (one round trip on Redis); false when it failed, so the caller goes row by row.</summary>
    private async Task<bool> TryPublishBatchAsync(List<OutboxMessage> rows, CancellationToken cancellationToken)
    {
        var producers = new List<System.Diagnostics.Activity?>(rows.Count);
        try
        {
            var events = new List<IntegrationEvent>(rows.Count);
            foreach (var row in rows)
            {
                var integrationEvent = ToIntegrationEvent(row);
                var producer = EventBusTracing.StartPublish(integrationEvent);
                producers.Add(producer);
                events.Add(integrationEvent.Carrying(producer));
            }

            await bus.PublishBatchAsync(events, cancellationToken);
            var now = time.GetUtcNow();
            foreach (var row in rows)
            {
                row.PublishedAt = now;
                metrics.Published(row.Topic, now - row.CreatedAt);
            }

            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogBatchPublishFailed(logger, rows.Count, ex.Message);
            return false;
        }
        finally
        {
            foreach (var producer in producers)
            {
                producer?.Dispose();
            }
        }
    }

    private enum RowOutcome
    {
        Published,
        DeadLettered,
        Retrying,
    }

    /// <summary>One row; on failure its attempt is counted, and it is dead-lettered after the last or scheduled again.</summary>
    private async Task<RowOutcome> PublishRowAsync(OutboxMessage row, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        try
        {
            var integrationEvent = ToIntegrationEvent(row);
            using var producer = EventBusTracing.StartPublish(integrationEvent);
            await bus.PublishAsync(integrationEvent.Carrying(producer), cancellationToken);
            row.PublishedAt = now;
            metrics.Published(row.Topic, now - row.CreatedAt);
            return RowOutcome.Published;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            row.Attempts++;
            row.LastError = ex.GetType().Name + ": " + ex.Message;
            metrics.PublishFailed(row.Topic);
            LogPublishFailed(logger, row.EventId, row.Topic, row.Attempts, ex.Message);
            if (row.Attempts >= _options.MaxAttempts && await TryDeadLetterAsync(row, now, cancellationToken))
            {
                return RowOutcome.DeadLettered;
            }

            row.NextAttemptAt = now + Backoff(row.Attempts);
            return RowOutcome.Retrying;
        }
    }

    private async Task<bool> TryDeadLetterAsync(OutboxMessage row, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var letter = JsonSerializer.Serialize(new
        {
            event_id = row.EventId,
            topic = row.Topic,
            type = row.Type,
            partition_key = row.PartitionKey,
            payload = JsonDocument.Parse(row.Payload).RootElement,
            error = row.LastError,
            attempts = row.Attempts,
            failed_at = now,
        });
        try
        {
            await bus.PublishAsync(new IntegrationEvent(Guid.CreateVersion7(now), _options.DeadLetterTopic, "DeadLetter", row.PartitionKey, letter, now, row.TraceParent), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }

        row.PublishedAt = now;
        row.DeadLetteredAt = now;
        metrics.DeadLettered(row.Topic);
        LogDeadLettered(logger, row.EventId, row.Topic, _options.DeadLetterTopic, row.LastError);
        return true;
    }

    private TimeSpan Backoff(int attempts)
    {
        var delay = _options.InitialRetryDelay * Math.Pow(2, Math.Min(attempts - 1, 20));
        return delay < _options.MaxRetryDelay || attempts < _options.MaxAttempts ? delay : _options.MaxRetryDelay;
    }

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Longer(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static IntegrationEvent ToIntegrationEvent(OutboxMessage row) =>
        new(row.EventId, row.Topic, row.Type, row.PartitionKey, row.Payload, row.CreatedAt, row.TraceParent);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Publishing a batch of {Count} outbox events failed ({Error}); publishing them one by one")]
    private static partial void LogBatchPublishFailed(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 6000, Level = LogLevel.Error, Message = "Outbox relay pass for {Context} failed")]
    private static partial void LogRelayFailed(ILogger logger, Exception exception, string context);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Publishing event {IntegrationEventId} to {Topic} failed (attempt {Attempts}): {Error}")]
    private static partial void LogPublishFailed(ILogger logger, Guid integrationEventId, string topic, int attempts, string error);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "Event {IntegrationEventId} for {Topic} dead-lettered to {DeadLetterTopic}: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, Guid integrationEventId, string topic, string deadLetterTopic, string? error);
}

/// <summary>Outbox metrics (meter <c>Chat4All.Outbox</c>): pending rows, publish lag, failures, dead letters.</summary>
public sealed class OutboxMetrics : IDisposable
{
    private readonly Meter _meter = new("Chat4All.Outbox");
    private readonly Counter<long> _published;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _deadLettered;
    private readonly Histogram<double> _lag;
    private readonly Dictionary<string, long> _pending = [];

    public OutboxMetrics()
    {
        _published = _meter.CreateCounter<long>("chat4all.outbox.published", description: "Events published from the outbox");
        _failures = _meter.CreateCounter<long>("chat4all.outbox.publish_failures", description: "Failed publish attempts");
        _deadLettered = _meter.CreateCounter<long>("chat4all.outbox.dead_lettered", description: "Events moved to the dead-letter topic");
        _lag = _meter.CreateHistogram<double>("chat4all.outbox.publish_lag", unit: "s", description: "Commit-to-publish delay");
        _meter.CreateObservableGauge("chat4all.outbox.pending", ObservePendingRows, description: "Unpublished outbox rows");
    }

    public void Published(string topic, TimeSpan lag)
    {
        _published.Add(1, new KeyValuePair<string, object?>("topic", topic));
        _lag.Record(Math.Max(0, lag.TotalSeconds), new KeyValuePair<string, object?>("topic", topic));
    }

    public void PublishFailed(string topic) => _failures.Add(1, new KeyValuePair<string, object?>("topic", topic));

    public void DeadLettered(string topic) => _deadLettered.Add(1, new KeyValuePair<string, object?>("topic", topic));

    public void ObservePending(string context, long count)
    {
        lock (_pending)
        {
            _pending[context] = count;
        }
    }

    private IEnumerable<Measurement<long>> ObservePendingRows()
    {
        lock (_pending)
        {
            return _pending.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("context", p.Key))).ToList();
        }
    }

    public void Dispose() => _meter.Dispose();
}
