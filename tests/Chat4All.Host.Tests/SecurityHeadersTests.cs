using System.Net;
using System.Net.Http.Headers;

namespace Chat4All.Host.Tests;

public sealed class SecurityHeadersTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Theory]
    [InlineData("/health")]
    [InlineData("/v1/me")]
    [InlineData("/v1/no-such-thing")]
    [InlineData("/.well-known/openid-configuration")]
    public async Task EveryResponseCarriesTheSecurityHeadersAndNoServerHeader(string path)
    {
        using var client = platform.Host.CreateHttpClient();

        using var response = await client.GetAsync(path);

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Empty(response.Headers.Server);
        Assert.False(response.Headers.Contains("Strict-Transport-Security")); // plain HTTP: HSTS means nothing here
    }

    [Fact]
    public async Task AuthenticatedApiDataIsNeverStoredByCaches()
    {
        var user = await platform.CreateUserAsync();
        using var client = await platform.CreateAuthenticatedClientAsync(user);

        using var me = await client.GetAsync("/v1/me");
        using var anonymous = platform.Host.CreateHttpClient();
        using var token = await OAuth.PostTokenAsync(anonymous,
            ("grant_type", "client_credentials"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret));

        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.True(me.Headers.CacheControl?.NoStore);
        Assert.True(token.Headers.CacheControl?.NoStore);
    }
}

public sealed class ProtectedMetricsFixture : PlatformFixture
{
    public const string Token = "metrics-token-0123456789abcdef0123456789";

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Chat4All:Metrics:BearerToken"] = Token,
    };
}

public sealed class ProtectedMetricsTests(ProtectedMetricsFixture platform) : IClassFixture<ProtectedMetricsFixture>
{
    [Fact]
    public async Task MetricsNeedTheConfiguredTokenWhenOneIsSet()
    {
        using var client = platform.Host.CreateHttpClient();

        using var anonymous = await client.GetAsync("/metrics");
        using var wrong = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/metrics")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", ProtectedMetricsFixture.Token + "x") },
        });
        using var right = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/metrics")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", ProtectedMetricsFixture.Token) },
        });

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }
}

public sealed class ManagementPortMetricsFixture : PlatformFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Chat4All:Metrics:Port"] = "1", // a port the API listener is not on
    };
}

public sealed class ManagementPortMetricsTests(ManagementPortMetricsFixture platform) : IClassFixture<ManagementPortMetricsFixture>
{
    [Fact]
    public async Task MetricsAreNotServedOnTheApiPortWhenAManagementPortIsSet()
    {
        using var client = platform.Host.CreateHttpClient();

        using var metrics = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Host = "127.0.0.1:1" } });

        Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }
}
