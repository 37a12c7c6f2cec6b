using System.Net;

namespace Chat4All.Identity.Tests;

/// <summary>
/// A wrong secret gets the Basic challenge only when it was sent with Basic: a browser that posts its
/// credentials in the form body must not pop its own login dialog.
/// </summary>
public sealed class BasicChallengeTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Fact]
    public async Task AWrongSecretInTheFormBodyIsRefusedWithoutABasicChallenge()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();

        using var token = await OAuth.PostTokenAsync(client,
            ("grant_type", "client_credentials"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret + "x"));
        using var revoke = await OAuth.PostFormAsync(client, "/auth/revoke",
            ("token", "whatever"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret + "x"));

        Assert.Equal(HttpStatusCode.Unauthorized, token.StatusCode);
        Assert.Equal("invalid_client", (await token.ReadJsonAsync()).GetProperty("error").GetString());
        Assert.Empty(token.Headers.WwwAuthenticate);
        Assert.Equal("invalid_client", (await revoke.ReadJsonAsync()).GetProperty("error").GetString());
        Assert.Empty(revoke.Headers.WwwAuthenticate);
    }

    [Fact]
    public async Task AWrongSecretSentWithBasicKeepsTheBasicChallenge()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]),
            Headers = { Authorization = OAuth.Basic(user.ClientId, user.ClientSecret + "x") },
        };

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_client", (await response.ReadJsonAsync()).GetProperty("error").GetString());
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
    }
}
