using System.Net;

namespace Chat4All.Host.Tests;

public sealed class OperationalEndpointsTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Fact]
    public async Task HealthReadyAndMetricsNeedNoToken()
    {
        using var client = platform.Host.CreateHttpClient();

        using var health = await client.GetAsync("/health");
        using var ready = await client.GetAsync("/ready");
        (await client.GetAsync("/v1/me")).Dispose();
        using var metrics = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var checks = (await ready.ReadJsonAsync()).GetProperty("checks");
        Assert.Equal("healthy", checks.GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal("healthy", checks.GetProperty("redis").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("http_server_request_duration_seconds", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownRouteGetsAProblemWithCodeAndTraceId()
    {
        using var client = platform.Host.CreateHttpClient();

        using var response = await client.GetAsync("/v1/no-such-thing");

        // Unauthenticated callers learn nothing about which routes exist.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var user = await platform.CreateUserAsync();
        using var authenticated = await platform.CreateAuthenticatedClientAsync(user);
        using var notFound = await authenticated.GetAsync("/v1/no-such-thing");
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("application/problem+json", notFound.Content.Headers.ContentType?.MediaType);
        var problem = await notFound.ReadJsonAsync();
        Assert.Equal("not_found", problem.GetProperty("code").GetString());
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.Equal(32, problem.GetProperty("trace_id").GetString()!.Length);
    }

    [Fact]
    public async Task EveryResponseCarriesARequestIdAndEchoesAWellFormedOne()
    {
        using var client = platform.Host.CreateHttpClient();

        using var minted = await client.GetAsync("/health");
        using var echoed = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/health") { Headers = { { "X-Request-ID", "client-req-42" } } });
        using var replaced = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/health") { Headers = { { "X-Request-ID", new string('x', 500) } } });

        Assert.False(string.IsNullOrEmpty(minted.Headers.GetValues("X-Request-ID").Single()));
        Assert.Equal("client-req-42", echoed.Headers.GetValues("X-Request-ID").Single());
        Assert.NotEqual(new string('x', 500), replaced.Headers.GetValues("X-Request-ID").Single());
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheApiInSnakeCase()
    {
        using var client = platform.Host.CreateHttpClient();

        using var response = await client.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await response.ReadJsonAsync();
        Assert.True(document.GetProperty("paths").TryGetProperty("/v1/admin/users", out _));
        Assert.True(document.GetProperty("paths").TryGetProperty("/v1/me", out _));
        Assert.Contains("client_secret", document.GetProperty("components").GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIncomingTraceparentIsContinued()
    {
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, platform.Host.Port);
        await using var stream = tcp.GetStream();

        // Written by hand: HttpClient's own instrumentation in this process would replace the header.
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"GET /v1/no-such-thing HTTP/1.1\r\nHost: 127.0.0.1\r\ntraceparent: 00-{traceId}-00f067aa0ba902b7-01\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream);
        var response = await reader.ReadToEndAsync();

        Assert.StartsWith("HTTP/1.1 401", response, StringComparison.Ordinal);
        Assert.Contains($"\"trace_id\":\"{traceId}\"", response, StringComparison.Ordinal);
    }
}
