using System.Net;

namespace Chat4All.Host.Tests;

/// <summary>
/// Runs the host against a private Redis and a private PostgreSQL cluster that the tests stop and
/// start, so the shared test servers are never disturbed.
/// </summary>
public sealed class ReadinessTests : IAsyncLifetime
{
    private readonly RedisServerProcess _redis = new();
    private readonly PostgresServerProcess _postgres = new();
    private readonly TemporaryDirectory _data = new();
    private Chat4AllHost _host = null!;

    public async Task InitializeAsync()
    {
        await Task.WhenAll(_redis.StartAsync(), _postgres.InitializeAsync());
        _host = await new Chat4AllHost(_postgres.ConnectionString, _redis.ConnectionString, _data.Path).StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _redis.DisposeAsync();
        await _postgres.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task ReadyFollowsRedisAndPostgresDownAndBackUpWhileHealthStaysLive()
    {
        using var client = _host.CreateHttpClient();
        await WaitForReadyAsync(client, HttpStatusCode.OK);

        await _redis.StopAsync();
        var unready = await WaitForReadyAsync(client, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("unhealthy", unready.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);

        await _redis.StartAsync();
        await WaitForReadyAsync(client, HttpStatusCode.OK);

        await _postgres.StopAsync();
        unready = await WaitForReadyAsync(client, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("unhealthy", unready.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);

        await _postgres.StartAsync();
        var ready = await WaitForReadyAsync(client, HttpStatusCode.OK);
        Assert.Equal("healthy", ready.GetProperty("status").GetString());
    }

    // Polls until /ready reports the wanted status; the bound is generous because it only decides
    // failure, never how fast recovery must be.
    [Fact]
    public async Task ARequestWhoseDependencyIsDownIsA503ProblemWithRetryAfterNotA500()
    {
        var user = await _host.CreateUserAsync();
        using var client = await _host.CreateAuthenticatedClientAsync(user);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/conversations")).StatusCode);

        await _postgres.StopAsync();
        try
        {
            await AssertServiceUnavailableAsync(await client.GetAsync("/v1/conversations"));
        }
        finally
        {
            await _postgres.StartAsync();
        }

        await _redis.StopAsync();
        try
        {
            await AssertServiceUnavailableAsync(await client.GetAsync($"/v1/presence?user_ids={user.UserId}"));
        }
        finally
        {
            await _redis.StartAsync();
        }
    }

    private static async Task AssertServiceUnavailableAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode} {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("\"code\":\"service_unavailable\"", body, StringComparison.Ordinal);
            Assert.NotNull(response.Headers.RetryAfter);
        }
    }

    private static async Task<System.Text.Json.JsonElement> WaitForReadyAsync(HttpClient client, HttpStatusCode wanted)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var response = await client.GetAsync("/ready");
            if (response.StatusCode == wanted)
            {
                return await response.ReadJsonAsync();
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"/ready stayed {(int)response.StatusCode}, expected {(int)wanted}: {await response.Content.ReadAsStringAsync()}");
            }

            await Task.Delay(250);
        }
    }
}
