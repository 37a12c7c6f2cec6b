using System.Data.Common;
using System.Net.Http.Headers;
using System.Text;
using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Chat4All.BuildingBlocks.Data;

namespace Chat4All.Delivery.Subscriptions;

/// <summary>
/// Sends pending webhook deliveries, signed per Standard Webhooks with the subscription's secret.
/// Only the head of each (subscription, ordering key) line is ever sent — the oldest pending
/// delivery of that conversation — so a later event never overtakes an earlier one, while other
/// conversations' lines go on. Heads are claimed in PostgreSQL (any number of instances share the
/// work; a crashed instance's claims expire). A non-2xx answer, a timeout or a refused target is a
/// failure: the delivery is retried with exponential backoff and jitter, never given up, and the
/// subscription is disabled once it has failed continuously (ADR 0050).
/// </summary>
public sealed partial class WebhookSender : BackgroundService
{
    private readonly IServiceScopeFactory _scopes;
    private readonly WebhookMetrics _metrics;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookSender> _logger;
    private readonly WakeSignal _wake = new();
    private readonly HttpClient _http;

    public WebhookSender(IServiceScopeFactory scopes, WebhookTargetPolicy policy, WebhookMetrics metrics, IOptions<WebhookOptions> options, TimeProvider time,
        ILogger<WebhookSender> logger)
    {
        _scopes = scopes;
        _metrics = metrics;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler
        {
            // Each connection is made by the policy, to an address it has just checked.
            ConnectCallback = policy.ConnectAsync,
            // A redirect could point anywhere; the receiver gets a failure instead (docs/api.md).
            AllowAutoRedirect = false,
            // A proxy would be the one connecting, past the address check.
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // AttemptTimeout applies per attempt
        };
    }

    /// <summary>Looks for due deliveries now (new ones were enqueued on this instance).</summary>
    public void Wake() => _wake.Notify();

    public override void Dispose()
    {
        _http.Dispose();
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(_options.MaxConcurrency);
        var inFlight = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                IReadOnlyList<Guid> claimed;
                try
                {
                    claimed = slots.CurrentCount == 0 ? [] : await ClaimAsync(slots.CurrentCount, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested && (ex is DbException or InvalidOperationException or TimeoutException || DependencyOutage.Is(ex)))
                {
                    LogSweepFailed(_logger, ex);
                    claimed = [];
                }

                foreach (var id in claimed)
                {
                    await slots.WaitAsync(stoppingToken);
                    inFlight.Add(RunAsync(id, slots, stoppingToken));
                }

                inFlight.RemoveAll(t => t.IsCompleted);
                if (claimed.Count == 0)
                {
                    await _wake.WaitAsync(_options.PollInterval, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping: sends in flight are cancelled; their claims expire and they are sent again
        }

        await Task.WhenAll(inFlight);
    }

    private async Task RunAsync(Guid deliveryId, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            await SendAsync(deliveryId, stoppingToken);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // The claim expires and the delivery is tried again; nothing is lost.
            LogSendFailed(_logger, ex, deliveryId);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            slots.Release();
            _wake.Notify(); // the next delivery of that line may be due now
        }
    }

    /// <summary>Claims up to <paramref name="limit"/> due heads: the oldest pending delivery of each (subscription, key) line of an active subscription.</summary>
    private async Task<IReadOnlyList<Guid>> ClaimAsync(int limit, CancellationToken cancellationToken)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DeliveryDbContext>();
        var now = _time.GetUtcNow();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            // The re-check in the outer WHERE makes two instances racing for one head take it once:
            // the loser's UPDATE re-reads the row after the winner's commit and skips it.
            await using var command = new NpgsqlCommand("""
                UPDATE delivery.webhook_deliveries d SET claimed_until = @until
                WHERE d.id IN (
                    SELECT h.id FROM (
                        SELECT DISTINCT ON (p.subscription_id, p.ordering_key) p.id, p.next_attempt_at, p.claimed_until
                        FROM delivery.webhook_deliveries p
                        JOIN delivery.webhook_subscriptions s ON s.id = p.subscription_id AND s.status = @active
                        WHERE p.status = @pending
                        ORDER BY p.subscription_id, p.ordering_key, p.position
                    ) h
                    WHERE h.next_attempt_at <= @now AND (h.claimed_until IS NULL OR h.claimed_until < @now)
                    LIMIT @limit)
                  AND d.status = @pending AND (d.claimed_until IS NULL OR d.claimed_until < @now)
                RETURNING d.id
                """, connection);
            command.Parameters.AddWithValue("until", now + _options.ClaimDuration);
            command.Parameters.AddWithValue("now", now);
            command.Parameters.AddWithValue("limit", limit);
            command.Parameters.AddWithValue("active", WebhookSubscriptionStatuses.Active);
            command.Parameters.AddWithValue("pending", WebhookDeliveryStatuses.Pending);
            var ids = new List<Guid>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetGuid(0));
            }

            return ids;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private async Task SendAsync(Guid deliveryId, CancellationToken stoppingToken)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DeliveryDbContext>();
        var target = await db.WebhookDeliveries.AsNoTracking().Where(d => d.Id == deliveryId)
            .Join(db.WebhookSubscriptions, d => d.SubscriptionId, s => s.Id, (d, s) => new { d.Body, d.Attempts, d.SubscriptionId, s.Url, s.Secret })
            .SingleOrDefaultAsync(stoppingToken);
        if (target is null)
        {
            return; // the subscription was deleted meanwhile
        }

        var body = Encoding.UTF8.GetBytes(target.Body);
        var sentAt = _time.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in new StandardWebhooks(target.Secret).CreateHeaders(deliveryId.ToString(), sentAt, body))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        int? status = null;
        string? error;
        var started = _time.GetTimestamp();
        using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
        {
            attempt.CancelAfter(_options.AttemptTimeout);
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token);
                status = (int)response.StatusCode;
                error = response.IsSuccessStatusCode ? null : $"http_{status}";
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                error = "timeout";
            }
            catch (HttpRequestException ex)
            {
                error = ex.InnerException is WebhookTargetRefusedException refused
                    ? "target_refused: " + refused.Message
                    : "connection_failed: " + ex.Message;
            }
        }

        _metrics.Attempted(error is null, _time.GetElapsedTime(started));
        var now = _time.GetUtcNow();
        if (error is null)
        {
            await db.WebhookDeliveries.Where(d => d.Id == deliveryId).ExecuteUpdateAsync(u => u
                .SetProperty(d => d.Status, WebhookDeliveryStatuses.Succeeded)
                .SetProperty(d => d.Attempts, d => d.Attempts + 1)
                .SetProperty(d => d.DeliveredAt, now)
                .SetProperty(d => d.LastResponseCode, status)
                .SetProperty(d => d.ClaimedUntil, (DateTimeOffset?)null), CancellationToken.None);
            await db.WebhookSubscriptions.Where(s => s.Id == target.SubscriptionId && (s.ConsecutiveFailures != 0 || s.FailingSince != null))
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.ConsecutiveFailures, 0).SetProperty(s => s.FailingSince, (DateTimeOffset?)null), CancellationToken.None);
            return;
        }

        var truncated = error.Length > 1000 ? error[..1000] : error;
        await db.WebhookDeliveries.Where(d => d.Id == deliveryId).ExecuteUpdateAsync(u => u
            .SetProperty(d => d.Attempts, d => d.Attempts + 1)
            .SetProperty(d => d.NextAttemptAt, now + RetryDelay(target.Attempts + 1))
            .SetProperty(d => d.LastResponseCode, status)
            .SetProperty(d => d.LastError, truncated)
            .SetProperty(d => d.ClaimedUntil, (DateTimeOffset?)null), CancellationToken.None);
        await db.WebhookSubscriptions.Where(s => s.Id == target.SubscriptionId).ExecuteUpdateAsync(u => u
            .SetProperty(s => s.ConsecutiveFailures, s => s.ConsecutiveFailures + 1)
            .SetProperty(s => s.FailingSince, s => s.FailingSince ?? now), CancellationToken.None);
        var failingSince = now - _options.DisableAfterFailingFor;
        var reason = $"failed continuously (last error: {truncated})";
        var disabled = await db.WebhookSubscriptions
            .Where(s => s.Id == target.SubscriptionId && s.Status == WebhookSubscriptionStatuses.Active &&
                        (s.ConsecutiveFailures >= _options.DisableAfterConsecutiveFailures || s.FailingSince <= failingSince))
            .ExecuteUpdateAsync(u => u
                .SetProperty(s => s.Status, WebhookSubscriptionStatuses.Disabled)
                .SetProperty(s => s.DisabledAt, now)
                .SetProperty(s => s.DisabledReason, reason.Length > 1000 ? reason[..1000] : reason), CancellationToken.None);
        if (disabled > 0)
        {
            _metrics.Disabled();
            LogDisabled(_logger, target.SubscriptionId, truncated);
        }
        else
        {
            LogAttemptFailed(_logger, deliveryId, target.SubscriptionId, target.Attempts + 1, truncated);
        }
    }

    /// <summary>InitialRetryDelay × 2^(attempt-1), at most MaxRetryDelay, ±20 % jitter so failing receivers are not hit in lockstep.</summary>
    private TimeSpan RetryDelay(int attempt)
    {
        var exponential = _options.InitialRetryDelay * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = exponential < _options.MaxRetryDelay ? exponential : _options.MaxRetryDelay;
        return capped * (0.8 + (Random.Shared.NextDouble() * 0.4));
    }

    [LoggerMessage(EventId = 7301, Level = LogLevel.Warning,
        Message = "Webhook subscription {SubscriptionId} disabled: it failed continuously (last error: {Error}); POST .../enable resumes it")]
    private static partial void LogDisabled(ILogger logger, Guid subscriptionId, string error);

    [LoggerMessage(EventId = 7302, Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} of subscription {SubscriptionId} failed (attempt {Attempt}): {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, Guid deliveryId, Guid subscriptionId, int attempt, string error);

    [LoggerMessage(EventId = 7303, Level = LogLevel.Warning, Message = "Looking for due webhook deliveries failed; trying again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7304, Level = LogLevel.Warning, Message = "Sending webhook delivery {DeliveryId} failed before its outcome was recorded; its claim will expire and it is sent again")]
    private static partial void LogSendFailed(ILogger logger, Exception exception, Guid deliveryId);
}
