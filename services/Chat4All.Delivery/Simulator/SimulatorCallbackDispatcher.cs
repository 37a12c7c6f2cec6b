using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// Sends the simulated providers' webhooks: polls the callback queue, claims what is due (each
/// webhook by one instance), and POSTs it over HTTP to <c>{base}/v1/webhooks/{channel}</c>, signed
/// per Standard Webhooks with the channel's secret. A non-2xx answer or a connection error is
/// retried with exponential backoff up to <c>CallbackMaxAttempts</c>, then the webhook is dropped
/// with an error log — as real providers do. Status reports of one channel claimed together go in one
/// webhook (up to <see cref="MaxReportsPerWebhook"/>), as real providers batch them: one POST, one
/// signature and one transaction at the receiver for many deliveries. A batch's id is new for each
/// POST, so a re-sent batch is not refused as a replay; applying a report twice changes nothing.
/// </summary>
internal sealed class SimulatorCallbackDispatcher(
    SimulatorCallbackQueue queue,
    WebhookSecrets secrets,
    WebhookTarget target,
    IHttpClientFactory httpClients,
    IOptions<ChannelSimulatorOptions> options,
    TimeProvider time,
    ILogger<SimulatorCallbackDispatcher> logger) : BackgroundService
{
    public const string HttpClientName = "Chat4All.Delivery.Simulator";

    /// <summary>Most status reports in one webhook body (about 150 bytes each; the receiver takes 64 KiB).</summary>
    public const int MaxReportsPerWebhook = 100;

    private readonly ChannelSimulatorOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(_options.CallbackConcurrency, _options.CallbackConcurrency);
        var redisFailures = 0;
        var waitingLogged = false;
        var targetLogged = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (TryGetBaseUrl() is not { } baseUrl)
                {
                    if (!waitingLogged)
                    {
                        SimulatorLog.NoWebhookTarget(logger);
                        waitingLogged = true;
                    }

                    await Task.Delay(_options.CallbackPollInterval, time, stoppingToken);
                    continue;
                }

                if (!targetLogged)
                {
                    SimulatorLog.WebhookTarget(logger, baseUrl);
                    targetLogged = true;
                }

                // Claim only as many as there are free slots, so every claimed webhook is POSTed at
                // once and its claim (twice the POST timeout) cannot expire while it waits its turn.
                await slots.WaitAsync(stoppingToken);
                var free = 1;
                while (slots.Wait(0, CancellationToken.None))
                {
                    free++;
                }

                IReadOnlyList<ClaimedWebhook> claimed = [];
                DateTimeOffset? nextDueAt = null;
                TimeSpan? redisBackoff = null;
                try
                {
                    var now = time.GetUtcNow();
                    (claimed, nextDueAt) = await queue.ClaimAsync(now, free, now + (2 * _options.CallbackTimeout));
                    redisFailures = 0;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    redisBackoff = TimeSpan.FromMilliseconds(Math.Min(5000, _options.CallbackPollInterval.TotalMilliseconds * Math.Pow(2, ++redisFailures)));
                    SimulatorLog.RedisUnavailable(logger, ex, redisBackoff.Value);
                }
                finally
                {
                    if (free > claimed.Count)
                    {
                        slots.Release(free - claimed.Count);
                    }
                }

                if (redisBackoff is { } backoff)
                {
                    await Task.Delay(backoff, time, stoppingToken);
                    continue;
                }

                foreach (var webhooks in Batches(claimed))
                {
                    _ = SendAndReleaseAsync(baseUrl, webhooks, slots, stoppingToken);
                }

                if (claimed.Count == 0)
                {
                    await queue.Added.WaitAsync(IdleWait(nextDueAt), stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Wait for the POSTs in flight (cancelled, they give their webhooks back) before the queue's Redis connection goes.
        for (var i = 0; i < _options.CallbackConcurrency; i++)
        {
            await slots.WaitAsync(CancellationToken.None);
        }
    }

    // Until the earliest webhook left is due, woken sooner when this process adds one; other
    // instances' additions are seen within CallbackMaxIdleWait. Never below the poll interval, so a
    // webhook another dispatcher holds (claimed, so not due) cannot make this loop spin.
    private TimeSpan IdleWait(DateTimeOffset? nextDueAt)
    {
        var untilDue = nextDueAt is { } due ? due - time.GetUtcNow() : _options.CallbackMaxIdleWait;
        return untilDue < _options.CallbackPollInterval ? _options.CallbackPollInterval
            : untilDue > _options.CallbackMaxIdleWait ? _options.CallbackMaxIdleWait : untilDue;
    }

    private Uri? TryGetBaseUrl()
    {
        try
        {
            return target.BaseUrl;
        }
        catch (InvalidOperationException)
        {
            return null; // the server was changing its address list while we read it; next poll
        }
    }

    /// <summary>Status reports grouped per channel (in claim order, at most <see cref="MaxReportsPerWebhook"/> each); anything else alone.</summary>
    private static IEnumerable<List<ClaimedWebhook>> Batches(IReadOnlyList<ClaimedWebhook> claimed)
    {
        var reports = new Dictionary<string, List<ClaimedWebhook>>(StringComparer.Ordinal);
        foreach (var webhook in claimed)
        {
            if (!IsStatusReport(webhook.Webhook))
            {
                yield return [webhook];
                continue;
            }

            if (!reports.TryGetValue(webhook.Webhook.Channel, out var batch))
            {
                reports[webhook.Webhook.Channel] = batch = [];
            }

            batch.Add(webhook);
            if (batch.Count == MaxReportsPerWebhook)
            {
                yield return batch;
                reports[webhook.Webhook.Channel] = [];
            }
        }

        foreach (var batch in reports.Values.Where(b => b.Count > 0))
        {
            yield return batch;
        }
    }

    private static bool IsStatusReport(PendingWebhook webhook)
    {
        try
        {
            return SimulatedWebhook.FromJson(webhook.Body).Type == SimulatedWebhook.StatusType;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException)
        {
            return false; // sent as it is, alone
        }
    }

    private async Task SendAndReleaseAsync(Uri baseUrl, List<ClaimedWebhook> claimed, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Yield();
            await SendAsync(baseUrl, claimed, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            foreach (var webhook in claimed)
            {
                await ReleaseQuietlyAsync(webhook);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // E.g. Redis failed while settling, or the channel has no secret. The claims expire and the webhooks are tried again.
            SimulatorLog.WebhookError(logger, ex, claimed[0].Webhook.Id, claimed[0].Webhook.Channel);
        }
        finally
        {
            slots.Release(claimed.Count);
        }
    }

    private async Task SendAsync(Uri baseUrl, List<ClaimedWebhook> claimed, CancellationToken stoppingToken)
    {
        var first = claimed[0].Webhook;
        var (id, body) = claimed.Count == 1
            ? (first.Id, Encoding.UTF8.GetBytes(first.Body))
            : ($"msg_{Guid.CreateVersion7():N}", Encoding.UTF8.GetBytes(SimulatedWebhook.Batch(claimed.Select(c => SimulatedWebhook.FromJson(c.Webhook.Body))).ToJson()));
        using var request = new HttpRequestMessage(HttpMethod.Post, WebhookTarget.Webhook(baseUrl, first.Channel))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        foreach (var (name, value) in secrets.For(first.Channel).CreateHeaders(id, time.GetUtcNow(), body))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        string error;
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stoppingToken);
            // 409: the receiver had already processed this webhook id — we re-sent it after losing its answer.
            if (response.IsSuccessStatusCode || response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                await queue.CompleteAsync(claimed);
                return;
            }

            error = $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException ex)
        {
            error = ex.Message;
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            error = $"no answer within {_options.CallbackTimeout}";
        }

        // Each webhook of a failed batch keeps its own attempts and backoff.
        foreach (var webhook in claimed)
        {
            await RetryOrDropAsync(webhook, error);
        }
    }

    private async Task RetryOrDropAsync(ClaimedWebhook claimed, string error)
    {
        var webhook = claimed.Webhook;
        if (webhook.Attempt >= _options.CallbackMaxAttempts)
        {
            await queue.CompleteAsync([claimed]);
            SimulatorLog.WebhookDropped(logger, webhook.Id, webhook.Channel, webhook.Attempt, error);
            return;
        }

        var delay = TimeSpan.FromMilliseconds(Math.Min(
            _options.CallbackInitialRetryDelay.TotalMilliseconds * Math.Pow(2, webhook.Attempt - 1), _options.CallbackMaxRetryDelay.TotalMilliseconds));
        SimulatorLog.WebhookFailed(logger, webhook.Id, webhook.Channel, webhook.Attempt, _options.CallbackMaxAttempts, error, delay);
        await queue.RescheduleAsync(claimed, time.GetUtcNow() + delay);
    }

    private async Task ReleaseQuietlyAsync(ClaimedWebhook claimed)
    {
        try
        {
            await queue.ReleaseAsync(claimed, time.GetUtcNow());
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Shutting down without Redis: the claim expires and another instance sends it.
        }
    }
}
