using System.Net;
using System.Net.Sockets;

namespace Chat4All.Identity.Tests;

public sealed class TokenThrottleFixture : PlatformFixture
{
    public const int Limit = 5;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Chat4All:RateLimiting:Budgets:token_address:PermitLimit"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Chat4All:RateLimiting:Budgets:token_client:PermitLimit"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// The OAuth endpoints are throttled per source address and per client id. Every request here comes
/// from a loopback address of its own (127.x.y.z), so the shared Redis counters of other suites,
/// which all connect from 127.0.0.1, cannot interfere.
/// </summary>
public sealed class TokenThrottleTests(TokenThrottleFixture platform) : IClassFixture<TokenThrottleFixture>
{
    [Fact]
    public async Task OneSourceAddressGets429WithRetryAfterOnceItsBudgetIsSpent()
    {
        using var client = ClientFrom(RandomLoopbackAddress());

        for (var i = 0; i < TokenThrottleFixture.Limit; i++)
        {
            using var attempt = await WrongSecretAsync(client, "c4a_" + Guid.NewGuid().ToString("N"));
            Assert.Equal(HttpStatusCode.Unauthorized, attempt.StatusCode);
        }

        using var limited = await WrongSecretAsync(client, "c4a_" + Guid.NewGuid().ToString("N"));
        using var revokeLimited = await OAuth.PostFormAsync(client, "/auth/revoke", ("token", "x"), ("client_id", "c4a_y"), ("client_secret", "z"));

        AssertThrottled(limited);
        AssertThrottled(revokeLimited);
        Assert.Equal("rate_limited", (await limited.ReadJsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task OneClientIdGets429FromEveryAddressOnceItsBudgetIsSpent()
    {
        var user = await platform.CreateUserAsync();

        for (var i = 0; i < TokenThrottleFixture.Limit; i++)
        {
            using var client = ClientFrom(RandomLoopbackAddress());
            using var attempt = await WrongSecretAsync(client, user.ClientId);
            Assert.Equal(HttpStatusCode.Unauthorized, attempt.StatusCode);
        }

        using var another = ClientFrom(RandomLoopbackAddress());
        using var limited = await OAuth.PostTokenAsync(another,
            ("grant_type", "client_credentials"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret));
        AssertThrottled(limited);

        // Basic credentials name the same client: they draw from the same budget.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]),
            Headers = { Authorization = OAuth.Basic(user.ClientId, user.ClientSecret) },
        };
        using var basic = await ClientFrom(RandomLoopbackAddress()).SendAsync(request);
        AssertThrottled(basic);
    }

    private static void AssertThrottled(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.InRange(response.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static Task<HttpResponseMessage> WrongSecretAsync(HttpClient client, string clientId, int attempt = 0) =>
        OAuth.PostTokenAsync(client, ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", "wrong-" + attempt));



    private static IPAddress RandomLoopbackAddress() =>
        new([127, (byte)Random.Shared.Next(1, 255), (byte)Random.Shared.Next(0, 256), (byte)Random.Shared.Next(1, 255)]);

    /// <summary>A client whose connections come from <paramref name="source"/>, as a different machine's would.</summary>
    private HttpClient ClientFrom(IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    { BaseAddress = platform.Host.BaseAddress };
}
