using System.Net;

namespace Chat4All.Identity.Tests;

public sealed class RestartTests : IAsyncLifetime
{
    private readonly PlatformFixture _platform = new();

    public Task InitializeAsync() => _platform.InitializeAsync();

    public Task DisposeAsync() => _platform.DisposeAsync();

    [Fact]
    public async Task TokensIssuedBeforeAHostRestartStillWorkAfterIt()
    {
        var user = await _platform.CreateUserAsync();
        TokenResponse token;
        using (var before = _platform.Host.CreateHttpClient())
        {
            token = await OAuth.RequestTokenAsync(before, user);
        }

        await _platform.RestartAsync();

        using var after = _platform.Host.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/me") { Headers = { Authorization = new("Bearer", token.AccessToken) } };
        using var me = await after.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        using var refresh = await OAuth.RefreshAsync(after, user, token.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
    }
}
