using System.Net;
using System.Net.Http.Json;

namespace Chat4All.Realtime.Tests;

/// <summary>The whole platform, with a short presence TTL so a dead instance's connections expire within seconds.</summary>
public class RealtimePlatform : PlatformFixture
{
    private readonly Dictionary<string, string?> _settings;

    public RealtimePlatform()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _settings = new Dictionary<string, string?>
        {
            ["Chat4All:RateLimiting:Enabled"] = "false",
            ["Chat4All:EventBus:KeyPrefix"] = "c4a-" + suffix,
            ["Chat4All:Presence:KeyPrefix"] = "c4a-" + suffix,
            ["Chat4All:Presence:ConnectionTtl"] = "00:00:03",
            ["Chat4All:Delivery:Simulator:KeyPrefix"] = "c4a-sim-" + suffix,
        };
        foreach (var channel in Contracts.Channels.All)
        {
            _settings[$"Chat4All:Delivery:Channels:{channel}:DeliveredDelay"] = "00:00:00.100";
            _settings[$"Chat4All:Delivery:Channels:{channel}:ReadProbability"] = "0";
        }
    }

    protected override IReadOnlyDictionary<string, string?> Settings => _settings;

    /// <summary>Where this platform's events are on the bus (Redis Streams key prefix).</summary>
    public string EventBusPrefix => _settings["Chat4All:EventBus:KeyPrefix"]!;

    /// <summary>Settings a derived platform adds before the host starts.</summary>
    protected IDictionary<string, string?> ExtraSettings => _settings;

    /// <summary>A user (of <paramref name="tenantId"/>, else the default tenant), an authenticated client and the raw access token (for <c>/ws?token=</c>).</summary>
    public async Task<Member> CreateMemberAsync(Chat4AllHost? instance = null, Guid? tenantId = null)
    {
        var host = instance ?? Host;
        var user = await host.CreateUserInTenantAsync(tenantId);
        var client = host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(client, user);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token.AccessToken);
        return new Member(user, client, token.AccessToken);
    }
}

public sealed record Member(TestUser User, HttpClient Client, string Token) : IDisposable
{
    public Guid Id => User.UserId;

    public void Dispose() => Client.Dispose();
}

internal static class RealtimeApi
{
    public static async Task<Guid> CreateConversationAsync(this Member member, params Member[] others)
    {
        using var response = await member.Client.PostAsJsonAsync("/v1/conversations",
            new { type = others.Length == 1 ? "private" : "group", members = others.Select(o => o.Id) });
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.ReadJsonAsync()).GetProperty("conversation_id").GetGuid();
    }

    public static async Task<(Guid MessageId, long Seq)> SendAsync(this Member member, Guid conversationId, string text, string[]? channels = null)
    {
        using var response = await member.Client.PostAsJsonAsync("/v1/messages",
            new { conversation_id = conversationId, payload = new { type = "text", text }, channels = channels ?? ["all"] });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var body = await response.ReadJsonAsync();
        return (body.GetProperty("message_id").GetGuid(), body.GetProperty("seq").GetInt64());
    }

    public static Task<WsClient> ConnectAsync(this Member member, Chat4AllHost host, bool answerPings = true) =>
        WsClient.ConnectAsync(host.BaseAddress, member.Token, answerPings);
}
