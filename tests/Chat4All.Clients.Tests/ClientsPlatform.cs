using System.Net;
using System.Net.Http.Json;

namespace Chat4All.Clients.Tests;

/// <summary>
/// The whole platform on Kestrel for the clients to talk to, isolated in the shared Redis by key
/// prefixes, with quick simulated deliveries (so receipts show up within the test).
/// </summary>
public class ClientsPlatform : PlatformFixture
{
    private readonly Dictionary<string, string?> _settings;

    public ClientsPlatform()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _settings = new Dictionary<string, string?>
        {
            ["Chat4All:EventBus:KeyPrefix"] = "c4a-" + suffix,
            ["Chat4All:Presence:KeyPrefix"] = "c4a-" + suffix,
            ["Chat4All:Delivery:Simulator:KeyPrefix"] = "c4a-sim-" + suffix,
        };
        foreach (var channel in Contracts.Channels.All)
        {
            _settings[$"Chat4All:Delivery:Channels:{channel}:DeliveredDelay"] = "00:00:00.100";
            _settings[$"Chat4All:Delivery:Channels:{channel}:ReadProbability"] = "0";
        }
    }

    protected override IReadOnlyDictionary<string, string?> Settings => _settings;

    /// <summary>Creates a conversation directly over the API (setup, not what is under test).</summary>
    public async Task<Guid> CreateConversationAsync(TestUser owner, params TestUser[] others)
    {
        using var client = await CreateAuthenticatedClientAsync(owner);
        using var response = await client.PostAsJsonAsync("/v1/conversations",
            new { type = others.Length == 1 ? "private" : "group", members = others.Select(o => o.UserId) });
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.ReadJsonAsync()).GetProperty("conversation_id").GetGuid();
    }

    public async Task SendTextAsync(TestUser sender, Guid conversationId, string text)
    {
        using var client = await CreateAuthenticatedClientAsync(sender);
        using var response = await client.PostAsJsonAsync("/v1/messages",
            new { conversation_id = conversationId, payload = new { type = "text", text } });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
    }
}

/// <summary>Access tokens that live five seconds: every few seconds the CLI must refresh, and tail must reconnect.</summary>
public sealed class ShortTokenClientsPlatform : ClientsPlatform
{
    protected override IReadOnlyDictionary<string, string?> Settings =>
        new Dictionary<string, string?>(base.Settings) { ["Chat4All:Identity:AccessTokenLifetime"] = "00:00:05" };
}
