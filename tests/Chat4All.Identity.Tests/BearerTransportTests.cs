using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;

namespace Chat4All.Identity.Tests;

/// <summary>Where a bearer token is accepted: the Authorization header everywhere, <c>?token=</c> on <c>/ws</c> alone.</summary>
public sealed class BearerTransportTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Theory]
    [InlineData("access_token")] // RFC 6750's query form
    [InlineData("token")] // what /ws takes
    public async Task ATokenInTheQueryIsIgnoredOnRest(string parameter)
    {
        var token = await NewAccessTokenAsync();
        using var client = platform.Host.CreateHttpClient();

        using var response = await client.GetAsync($"/v1/me?{parameter}={Uri.EscapeDataString(token)}");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ATokenInAFormBodyIsIgnoredOnRest()
    {
        var token = await NewAccessTokenAsync();
        using var client = platform.Host.CreateHttpClient();

        using var response = await client.PostAsync("/v1/admin/users", new FormUrlEncodedContent([new("access_token", token), new("name", "x")]));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task TheSameTokenInTheAuthorizationHeaderIsAccepted()
    {
        var token = await NewAccessTokenAsync();
        using var client = platform.Host.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using var response = await client.GetAsync("/v1/me");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TheWebSocketEndpointStillTakesTheTokenFromItsQuery()
    {
        var token = await NewAccessTokenAsync();
        using var socket = new ClientWebSocket();

        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{platform.Host.Port}/ws?token={Uri.EscapeDataString(token)}"), CancellationToken.None);

        Assert.Equal(WebSocketState.Open, socket.State);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    private async Task<string> NewAccessTokenAsync()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        return (await OAuth.RequestTokenAsync(client, user)).AccessToken;
    }
}
