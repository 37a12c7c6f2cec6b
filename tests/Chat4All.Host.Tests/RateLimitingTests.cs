using System.Net;
using System.Net.Http.Json;
using Chat4All.Contracts;

namespace Chat4All.Host.Tests;

public sealed class RateLimitingTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    // Any state-changing /v1 request counts; an invalid provisioning request is a cheap one.
    private static Task<HttpResponseMessage> StateChangingRequest(HttpClient client) =>
        client.PostAsJsonAsync("/v1/admin/users", new { name = "" });

    [Fact]
    public async Task The61stStateChangingRequestWithinAMinuteGets429WithRetryAfter()
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(admin);

        for (var i = 1; i <= 60; i++)
        {
            using var admitted = await StateChangingRequest(client);
            Assert.Equal(HttpStatusCode.BadRequest, admitted.StatusCode);
            Assert.Equal("\"default\";q=60;w=60", admitted.Headers.GetValues("RateLimit-Policy").Single());
            Assert.StartsWith($"\"default\";r={60 - i};t=", admitted.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
        }

        using var limited = await StateChangingRequest(client);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.StartsWith("\"default\";r=0;t=", limited.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
        var problem = await limited.ReadJsonAsync();
        Assert.Equal("rate_limited", problem.GetProperty("code").GetString());
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task TwoInstancesSharingOneRedisShareOneBudget()
    {
        var second = await platform.StartAnotherInstanceAsync();
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var first = await platform.CreateAuthenticatedClientAsync(admin);
        using var other = await platform.CreateAuthenticatedClientAsync(admin, second);

        for (var i = 0; i < 30; i++)
        {
            (await StateChangingRequest(first)).Dispose();
            (await StateChangingRequest(other)).Dispose();
        }

        using var limitedOnFirst = await StateChangingRequest(first);
        using var limitedOnSecond = await StateChangingRequest(other);
        Assert.Equal(HttpStatusCode.TooManyRequests, limitedOnFirst.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, limitedOnSecond.StatusCode);
    }

    [Fact]
    public async Task EachUserHasABudgetOfItsOwn()
    {
        var greedy = await platform.CreateUserAsync(ChatScopes.Admin);
        var patient = await platform.CreateUserAsync(ChatScopes.Admin);
        using var greedyClient = await platform.CreateAuthenticatedClientAsync(greedy);
        using var patientClient = await platform.CreateAuthenticatedClientAsync(patient);
        for (var i = 0; i < 61; i++)
        {
            (await StateChangingRequest(greedyClient)).Dispose();
        }

        using var response = await StateChangingRequest(patientClient);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task ReadsDoNotDrawFromTheBudget()
    {
        var user = await platform.CreateUserAsync();
        using var client = await platform.CreateAuthenticatedClientAsync(user);

        for (var i = 0; i < 75; i++)
        {
            using var response = await client.GetAsync("/v1/me");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("RateLimit"));
        }
    }
}

public sealed class ConfiguredRateLimitTests(ConfiguredRateLimitTests.SmallBudgetPlatform platform)
    : IClassFixture<ConfiguredRateLimitTests.SmallBudgetPlatform>
{
    public sealed class SmallBudgetPlatform : PlatformFixture
    {
        protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
        {
            ["Chat4All:RateLimiting:Budgets:default:PermitLimit"] = "5",
            ["Chat4All:RateLimiting:Budgets:default:Window"] = "00:00:30",
        };
    }

    [Fact]
    public async Task TheDefaultBudgetIsConfigurable()
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(admin);
        for (var i = 0; i < 5; i++)
        {
            (await client.PostAsJsonAsync("/v1/admin/users", new { name = "" })).Dispose();
        }

        using var limited = await client.PostAsJsonAsync("/v1/admin/users", new { name = "" });

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("\"default\";q=5;w=30", limited.Headers.GetValues("RateLimit-Policy").Single());
    }
}
