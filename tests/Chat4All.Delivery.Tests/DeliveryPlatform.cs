using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Delivery.Connectors;

namespace Chat4All.Delivery.Tests;

/// <summary>
/// The whole platform with fast, deterministic simulated channels: no latency, delivered reports
/// after 100 ms, read reports only on Telegram, SMS numbers starting +1555099 unknown to the
/// provider, short retry delays and a quick breaker. Webhook secrets are fixed so tests can sign.
/// </summary>
public class DeliveryPlatform : PlatformFixture
{
    public static readonly string WhatsAppSecret = StandardWebhooks.GenerateSecret();

    private readonly Dictionary<string, string?> _settings;

    public DeliveryPlatform()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _settings = new Dictionary<string, string?>
        {
            ["Chat4All:RateLimiting:Enabled"] = "false",
            ["Chat4All:EventBus:KeyPrefix"] = "c4a-" + suffix,
            ["Chat4All:Delivery:Simulator:KeyPrefix"] = "c4a-sim-" + suffix,
            ["Chat4All:Delivery:Simulator:CallbackInitialRetryDelay"] = "00:00:00.200",
            ["Chat4All:Delivery:InitialRetryDelay"] = "00:00:01",
            ["Chat4All:Delivery:SweepInterval"] = "00:00:01",
            ["Chat4All:Delivery:BreakerFailureThreshold"] = "3",
            ["Chat4All:Delivery:BreakDuration"] = "00:00:02",
            ["Chat4All:Delivery:Channels:whatsapp:WebhookSecret"] = WhatsAppSecret,
            ["Chat4All:Delivery:Channels:sms:UnreachablePattern"] = @"^\+1555099",
            ["Chat4All:Delivery:Channels:telegram:ReadProbability"] = "1",
            ["Chat4All:Delivery:Channels:telegram:ReadDelay"] = "00:00:00.200",
        };
        foreach (var channel in Contracts.Channels.All)
        {
            _settings[$"Chat4All:Delivery:Channels:{channel}:DeliveredDelay"] = "00:00:00.100";
            _settings.TryAdd($"Chat4All:Delivery:Channels:{channel}:ReadProbability", "0");
        }
    }

    /// <summary>The same platform with <paramref name="overrides"/> on top of its settings.</summary>
    protected DeliveryPlatform(IReadOnlyDictionary<string, string?> overrides)
        : this()
    {
        foreach (var (key, value) in overrides)
        {
            _settings[key] = value;
        }
    }

    public string EventBusPrefix => _settings["Chat4All:EventBus:KeyPrefix"]!;

    protected override IReadOnlyDictionary<string, string?> Settings => _settings;

    /// <summary>A user with an authenticated client and an address on each of <paramref name="channels"/> (unique numbers and handles).</summary>
    public async Task<(TestUser User, HttpClient Client)> CreateReachableUserAsync(params string[] channels)
    {
        var user = await CreateUserAsync();
        var client = await CreateAuthenticatedClientAsync(user);
        foreach (var channel in channels)
        {
            using var response = await client.PutAsJsonAsync($"/v1/me/channels/{channel}", new { address = UniqueAddress(channel) });
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }

        return (user, client);
    }

    public static string UniqueAddress(string channel)
    {
        var digits = Random.Shared.NextInt64(1_000_000_000L, 9_999_999_999L).ToString(CultureInfo.InvariantCulture);
        return channel switch
        {
            "whatsapp" or "sms" => "+1444" + digits,
            "telegram" => "@tg_" + digits,
            "instagram" => "@ig." + digits,
            _ => "1" + digits + "00",
        };
    }
}

internal static class DeliveryApi
{
    public static async Task<Guid> CreateConversationAsync(this HttpClient client, string type, params Guid[] members)
    {
        using var response = await client.PostAsJsonAsync("/v1/conversations", new { type, members });
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.ReadJsonAsync()).GetProperty("conversation_id").GetGuid();
    }

    public static async Task<Guid> SendAsync(this HttpClient client, Guid conversationId, string text, string[]? channels = null, string? fallback = null)
    {
        using var response = await client.PostAsJsonAsync("/v1/messages",
            new { conversation_id = conversationId, payload = new { type = "text", text }, channels, fallback_channel = fallback });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.ReadJsonAsync()).GetProperty("message_id").GetGuid();
    }

    public static string Status(this JsonElement delivery) => delivery.GetProperty("status").GetString()!;

    public static string Channel(this JsonElement delivery) => delivery.GetProperty("channel").GetString()!;
}
