using Chat4All.Client;

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

    /// <summary>Creates a conversation through the SDK (setup, not what is under test).</summary>
    public async Task<Guid> CreateConversationAsync(TestUser owner, params TestUser[] others)
    {
        using var chat = Chat4AllClient.Create(Host.BaseAddress, owner.ClientId, owner.ClientSecret);
        var conversation = await chat.CreateConversationAsync(others.Length == 1 ? "private" : "group", others.Select(o => o.UserId));
        return conversation.ConversationId;
    }

    public async Task SendTextAsync(TestUser sender, Guid conversationId, string text)
    {
        using var chat = Chat4AllClient.Create(Host.BaseAddress, sender.ClientId, sender.ClientSecret);
        await chat.SendTextAsync(conversationId, text);
    }
}

/// <summary>Access tokens that live five seconds: every few seconds the CLI must refresh, and tail must reconnect.</summary>
public sealed class ShortTokenClientsPlatform : ClientsPlatform
{
    protected override IReadOnlyDictionary<string, string?> Settings =>
        new Dictionary<string, string?>(base.Settings) { ["Chat4All:Identity:AccessTokenLifetime"] = "00:00:05" };
}
