using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;

namespace Chat4All.Delivery.Tests;

/// <summary>
/// Alerting end to end on this machine: a real host dead-letters deliveries, Debian's Prometheus
/// (started by scripts/observability.sh with short intervals) scrapes it and evaluates the
/// repository's alert rules, and Alertmanager routes the alert to Slack — here a local webhook.
/// </summary>
[Collection(Collection)]
public sealed class DeadLetterAlertTests(DeliveryPlatform platform) : IClassFixture<DeliveryPlatform>
{
    /// <summary>
    /// Runs alone: OpenTelemetry follows same-named meters of every host in this test process and
    /// drops a series when another host is disposed, which would reset the counter under Prometheus.
    /// </summary>
    public const string Collection = "alerting";

    private const string RunbookUrl = "https://github.com/chat4all/chat4all/blob/main/docs/deployment.md#replay-dead-letters";

    [Fact]
    public async Task DeadLettersFireTheAlertAndAlertmanagerPostsItToSlackWithItsLabelsAndRunbook()
    {
        await using var webhooks = await WebhookReceiver.StartAsync();
        await using var monitoring = new LocalMonitoring([$"127.0.0.1:{platform.Host.Port}"], new Dictionary<string, string>
        {
            ["CHAT4ALL_SCRAPE_INTERVAL"] = "1s",
            ["CHAT4ALL_EVALUATION_INTERVAL"] = "1s",
            ["CHAT4ALL_ALERT_GROUP_WAIT"] = "1s",
            ["CHAT4ALL_ALERT_GROUP_INTERVAL"] = "1s",
            ["CHAT4ALL_PAGERDUTY_URL"] = webhooks.UrlOf("/pagerduty").ToString(),
        });
        await File.WriteAllTextAsync(Path.Combine(monitoring.SecretsDirectory, "slack_webhook_url"), webhooks.UrlOf("/slack").ToString());
        await File.WriteAllTextAsync(Path.Combine(monitoring.SecretsDirectory, "pagerduty_routing_key"), "test-routing-key");
        await File.WriteAllTextAsync(Path.Combine(monitoring.SecretsDirectory, "smtp_password"), "unused");
        await monitoring.UpAsync();
        Assert.Contains("prometheus: running", await monitoring.RunAsync("status"), StringComparison.Ordinal);

        using var prometheus = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await WaitForAsync(async () => (await QueryAsync(prometheus, monitoring, "up{job=\"chat4all\"} == 1")).Count == 1,
            "Prometheus does not scrape the host (up is not 1)");

        // Normal traffic first: one SMS delivered. Prometheus must have seen the dead-letter counter at
        // 0 before it grows, as in production: increase() counts from a sample it has.
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, asBob) = await platform.CreateReachableUserAsync(Channels.Sms);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var delivered = await asSender.SendAsync(conversationId, "hello", [Channels.Sms]);
        await asSender.WaitForDeliveriesAsync(delivered, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Delivered);
        await WaitForAsync(async () => (await QueryAsync(prometheus, monitoring, "chat4all_delivery_dead_letters_total{channel=\"sms\"}")).Count > 0,
            "Prometheus never scraped chat4all_delivery_dead_letters_total{channel=\"sms\"}");
        Assert.DoesNotContain(await monitoring.FiringAlertsAsync(prometheus), IsDeadLetterAlert);

        // Then more than the warning's threshold (5 in 15 minutes) of SMS deliveries fail for good.
        using (var unreachable = await asBob.PutAsJsonAsync("/v1/me/channels/sms", new { address = "+1555099" + Random.Shared.Next(1000, 9999) }))
        {
            Assert.Equal(HttpStatusCode.OK, unreachable.StatusCode);
        }

        var messages = new List<Guid>();
        for (var i = 0; i < 8; i++)
        {
            messages.Add(await asSender.SendAsync(conversationId, $"nobody home {i}", [Channels.Sms]));
        }

        foreach (var messageId in messages)
        {
            await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Failed);
        }

        JsonElement alert = default;
        await WaitForAsync(async () =>
        {
            alert = (await monitoring.FiringAlertsAsync(prometheus)).FirstOrDefault(IsDeadLetterAlert);
            return alert.ValueKind == JsonValueKind.Object;
        }, "Chat4AllDeadLettersGrowing never fired in Prometheus");
        Assert.Equal("warning", alert.GetProperty("labels").GetProperty("severity").GetString());
        Assert.Equal("sms", alert.GetProperty("labels").GetProperty("channel").GetString());

        var slack = await webhooks.WaitForAsync("/slack",
            body => body.GetRawText().Contains("Chat4AllDeadLettersGrowing", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var attachment = slack.GetProperty("attachments")[0];
        var text = attachment.GetProperty("text").GetString()!;
        Assert.Contains("[FIRING:1] Chat4AllDeadLettersGrowing (warning)", attachment.GetProperty("title").GetString(), StringComparison.Ordinal);
        Assert.Equal(RunbookUrl, attachment.GetProperty("title_link").GetString());
        Assert.Contains("alertname=Chat4AllDeadLettersGrowing", text, StringComparison.Ordinal);
        Assert.Contains("channel=sms", text, StringComparison.Ordinal);
        Assert.Contains("severity=warning", text, StringComparison.Ordinal);
        Assert.Contains("Runbook: " + RunbookUrl, text, StringComparison.Ordinal);
        Assert.Equal("#chat4all-alerts", slack.GetProperty("channel").GetString());
        // A warning does not page: PagerDuty only gets critical alerts.
        Assert.DoesNotContain(webhooks.Received, r => r.Path == "/pagerduty");
    }

    private static bool IsDeadLetterAlert(JsonElement alert) =>
        alert.GetProperty("labels").GetProperty("alertname").GetString() == "Chat4AllDeadLettersGrowing";

    private static async Task<List<JsonElement>> QueryAsync(HttpClient client, LocalMonitoring monitoring, string query)
    {
        var response = await client.GetFromJsonAsync<JsonElement>(new Uri(monitoring.Prometheus, "api/v1/query?query=" + Uri.EscapeDataString(query)));
        return [.. response.GetProperty("data").GetProperty("result").EnumerateArray()];
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(500);
        }

        Assert.Fail(failure);
    }
}

[CollectionDefinition(DeadLetterAlertTests.Collection, DisableParallelization = true)]
public sealed class AlertingRunsAlone;
