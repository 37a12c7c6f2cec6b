using System.Net;
using System.Net.WebSockets;
using Chat4All.Contracts;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Identity.Tests;

public sealed class UserLifecycleTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Fact]
    public async Task AnAdminListsUsersAPageAtATime()
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        for (var i = 0; i < 3; i++)
        {
            await platform.CreateUserAsync();
        }

        using var client = await platform.CreateAuthenticatedClientAsync(admin);
        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await (await client.GetAsync("/v1/admin/users?limit=2" + (cursor is null ? "" : "&cursor=" + cursor))).ReadJsonAsync();
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("user_id").GetGuid()));
            cursor = page.GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);

        Assert.Contains(admin.UserId, seen);
        Assert.True(seen.Count >= 4);
        Assert.Equal(seen.Distinct().Count(), seen.Count);
    }

    [Fact]
    public async Task ADisabledUserIsRefusedOnEveryRestEndpointAtOnce()
    {
        var victim = await platform.CreateUserAsync(ChatScopes.Messages, ChatScopes.Files, ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(victim);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/me")).StatusCode);

        await AdminAsync(HttpMethod.Post, $"/v1/admin/users/{victim.UserId}/disable", HttpStatusCode.OK);

        var endpoints = AuthenticatedRestEndpoints();
        Assert.True(endpoints.Count > 20, $"only {endpoints.Count} endpoints found");
        foreach (var (method, path) in endpoints)
        {
            using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} answered {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task AnotherInstanceRefusesADisabledUserWithinSeconds()
    {
        var victim = await platform.CreateUserAsync();
        var other = await platform.StartAnotherInstanceAsync();
        using var client = await platform.CreateAuthenticatedClientAsync(victim, other);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/me")).StatusCode);

        await AdminAsync(HttpMethod.Post, $"/v1/admin/users/{victim.UserId}/disable", HttpStatusCode.OK);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        HttpStatusCode status;
        do
        {
            status = (await client.GetAsync("/v1/me")).StatusCode;
        }
        while (status != HttpStatusCode.Unauthorized && DateTime.UtcNow < deadline && await Pause());

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task ADisabledUserGetsNoTokenAndItsRefreshTokenIsDead()
    {
        var victim = await platform.CreateUserAsync();
        using var anonymous = platform.Host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(anonymous, victim);

        await AdminAsync(HttpMethod.Post, $"/v1/admin/users/{victim.UserId}/disable", HttpStatusCode.OK);

        using var newToken = await OAuth.PostTokenAsync(anonymous,
            ("grant_type", "client_credentials"), ("client_id", victim.ClientId), ("client_secret", victim.ClientSecret));
        Assert.Equal("invalid_client", (await newToken.ReadJsonAsync()).GetProperty("error").GetString());
        using var refresh = await OAuth.RefreshAsync(anonymous, victim, token.RefreshToken!);
        Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
    }

    [Fact]
    public async Task AReEnabledUserSignsInAgainWhileTokensFromBeforeStayRefused()
    {
        var victim = await platform.CreateUserAsync();
        using var old = await platform.CreateAuthenticatedClientAsync(victim);
        await AdminAsync(HttpMethod.Post, $"/v1/admin/users/{victim.UserId}/disable", HttpStatusCode.OK);

        var enabled = await AdminAsync(HttpMethod.Post, $"/v1/admin/users/{victim.UserId}/enable", HttpStatusCode.OK);

        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await enabled.ReadJsonAsync()).GetProperty("disabled_at").ValueKind);
        using var fresh = await platform.CreateAuthenticatedClientAsync(victim);
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync("/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await old.GetAsync("/v1/me")).StatusCode);
    }

    [Fact]
    public async Task ADeletedUserIsRefusedAndGone()
    {
        var victim = await platform.CreateUserAsync();
        using var client = await platform.CreateAuthenticatedClientAsync(victim);

        await AdminAsync(HttpMethod.Delete, $"/v1/admin/users/{victim.UserId}", HttpStatusCode.NoContent);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/me")).StatusCode);
        using var anonymous = platform.Host.CreateHttpClient();
        using var token = await OAuth.PostTokenAsync(anonymous,
            ("grant_type", "client_credentials"), ("client_id", victim.ClientId), ("client_secret", victim.ClientSecret));
        Assert.Equal(HttpStatusCode.Unauthorized, token.StatusCode);
        await AdminAsync(HttpMethod.Post, $"/v1/admin/users/{victim.UserId}/disable", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task RotatingTheClientSecretRetiresTheOldOne()
    {
        var user = await platform.CreateUserAsync();

        var rotated = await (await AdminAsync(HttpMethod.Post, $"/v1/admin/users/{user.UserId}/secret", HttpStatusCode.OK)).ReadJsonAsync();

        var secret = rotated.GetProperty("client_secret").GetString()!;
        Assert.NotEqual(user.ClientSecret, secret);
        using var anonymous = platform.Host.CreateHttpClient();
        using var withOld = await OAuth.PostTokenAsync(anonymous,
            ("grant_type", "client_credentials"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret));
        Assert.Equal(HttpStatusCode.Unauthorized, withOld.StatusCode);
        await OAuth.RequestTokenAsync(anonymous, user with { ClientSecret = secret });
    }

    [Fact]
    public async Task AnOpenSocketOfADisabledUserIsClosedWith4001()
    {
        var victim = await platform.CreateUserAsync();
        using var anonymous = platform.Host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(anonymous, victim);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{platform.Host.Port}/ws?token={Uri.EscapeDataString(token.AccessToken)}"), CancellationToken.None);

        await AdminAsync(HttpMethod.Post, $"/v1/admin/users/{victim.UserId}/disable", HttpStatusCode.OK);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[16 * 1024];
        WebSocketReceiveResult received;
        do
        {
            received = await socket.ReceiveAsync(buffer, timeout.Token);
        }
        while (received.MessageType != WebSocketMessageType.Close);

        Assert.Equal(4001, (int)socket.CloseStatus!.Value);
        Assert.Equal("user_revoked", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task AnAdminCannotDisableItselfAndAnUnknownUserIs404()
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(admin);

        using var self = await client.PostAsync($"/v1/admin/users/{admin.UserId}/disable", null);
        using var unknown = await client.PostAsync($"/v1/admin/users/{Guid.NewGuid()}/disable", null);

        Assert.Equal(HttpStatusCode.Conflict, self.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("user_not_found", (await unknown.ReadJsonAsync()).GetProperty("code").GetString());
    }

    /// <summary>Every route of the running host that requires a token, with route values filled in.</summary>
    private List<(string Method, string Path)> AuthenticatedRestEndpoints() =>
        [.. platform.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is null && e.Metadata.GetMetadata<HttpMethodMetadata>() is not null)
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (m, Fill(e.RoutePattern.RawText!))))];

    private static string Fill(string pattern) =>
        "/" + string.Join('/', pattern.TrimStart('/').Split('/').Select(segment =>
            segment.StartsWith('{') ? (segment.Contains(":guid", StringComparison.Ordinal) || segment.Contains("Id", StringComparison.OrdinalIgnoreCase)
                ? Guid.NewGuid().ToString() : "x") : segment));

    private async Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, HttpStatusCode expected)
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(admin);
        var response = await client.SendAsync(new HttpRequestMessage(method, path));
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    private static async Task<bool> Pause()
    {
        await Task.Delay(100);
        return true;
    }
}
