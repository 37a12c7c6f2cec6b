using System.Net;
using System.Text;
using Chat4All.Contracts;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat4All.Identity.Tests;

public sealed class TokenEndpointTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Fact]
    public async Task ClientCredentialsTokenIsAcceptedOnAV1Route()
    {
        var user = await platform.CreateUserAsync();
        using var client = await platform.CreateAuthenticatedClientAsync(user);

        using var response = await client.GetAsync("/v1/me");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var me = await response.ReadJsonAsync();
        Assert.Equal(user.UserId.ToString(), me.GetProperty("user_id").GetString());
    }

    [Fact]
    public async Task AccessTokenIsAnRs256JwtWithSubTenantScopeJtiAndFifteenMinuteLifetime()
    {
        var user = await platform.CreateUserAsync(ChatScopes.Messages, ChatScopes.Files);
        using var client = platform.Host.CreateHttpClient();

        var token = await OAuth.RequestTokenAsync(client, user);
        var jwt = new JsonWebToken(token.AccessToken);

        Assert.Equal("Bearer", token.TokenType);
        Assert.InRange(token.ExpiresIn, 899, 900); // seconds left when the response was written
        Assert.Equal("RS256", jwt.Alg);
        Assert.False(string.IsNullOrEmpty(jwt.Kid));
        Assert.Equal(user.UserId.ToString(), jwt.Subject);
        Assert.Equal("00000000-0000-0000-0000-000000000001", jwt.GetClaim("tenant_id").Value);
        Assert.Contains("messages", jwt.GetClaim("scope").Value.Split(' '));
        Assert.Contains("files", jwt.GetClaim("scope").Value.Split(' '));
        Assert.True(Guid.TryParse(jwt.Id, out _));
        Assert.Equal(TimeSpan.FromMinutes(15), jwt.ValidTo - jwt.IssuedAt);
        Assert.Equal(Chat4AllHost.TestIssuer, jwt.Issuer);
        Assert.Contains("chat4all", jwt.Audiences);
        Assert.False(string.IsNullOrEmpty(token.RefreshToken));
    }

    [Fact]
    public async Task HttpBasicClientAuthenticationIsAccepted()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]),
            Headers = { Authorization = OAuth.Basic(user.ClientId, user.ClientSecret) },
        };

        using var response = await client.SendAsync(request);

        var token = await OAuth.ReadTokenAsync(response);
        Assert.Equal(user.UserId.ToString(), new JsonWebToken(token.AccessToken).Subject);
    }

    [Fact]
    public async Task RequestedScopesNarrowTheToken()
    {
        var user = await platform.CreateUserAsync(ChatScopes.Messages, ChatScopes.Files);
        using var client = platform.Host.CreateHttpClient();

        var token = await OAuth.RequestTokenAsync(client, user, scope: "messages");

        var scopes = new JsonWebToken(token.AccessToken).GetClaim("scope").Value.Split(' ');
        Assert.Contains("messages", scopes);
        Assert.DoesNotContain("files", scopes);
    }

    [Theory]
    [InlineData("admin", "invalid_request")] // a known scope this client holds no permission for
    [InlineData("root", "invalid_scope")] // a scope the server does not know
    public async Task AScopeTheUserWasNotGrantedIsRefused(string scope, string error)
    {
        var user = await platform.CreateUserAsync(ChatScopes.Messages);
        using var client = platform.Host.CreateHttpClient();

        using var response = await OAuth.PostTokenAsync(client,
            ("grant_type", "client_credentials"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret), ("scope", scope));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(error, (await response.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task WrongSecretIsRejectedAsInvalidClient()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();

        using var response = await OAuth.PostTokenAsync(client,
            ("grant_type", "client_credentials"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret + "x"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_client", (await response.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task UnknownClientIsRejectedAsInvalidClient()
    {
        using var client = platform.Host.CreateHttpClient();

        using var response = await OAuth.PostTokenAsync(client,
            ("grant_type", "client_credentials"), ("client_id", "nobody"), ("client_secret", "nothing"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_client", (await response.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("password")]
    [InlineData("authorization_code")]
    [InlineData("urn:example:unknown")]
    public async Task UnsupportedGrantTypeIsRejected(string grantType)
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();

        using var response = await OAuth.PostTokenAsync(client,
            ("grant_type", grantType), ("client_id", user.ClientId), ("client_secret", user.ClientSecret));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unsupported_grant_type", (await response.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task TheRefreshEndpointRefusesClientCredentials()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();

        using var response = await OAuth.PostFormAsync(client, "/auth/refresh",
            ("grant_type", "client_credentials"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unsupported_grant_type", (await response.ReadJsonAsync()).GetProperty("error").GetString());
    }

    public static TheoryData<string, string> MalformedBodies => new()
    {
        { "application/json", """{"grant_type":"client_credentials"}""" },
        { "application/x-www-form-urlencoded", "" },
        { "application/x-www-form-urlencoded", "%%%&&&==" },
        { "application/x-www-form-urlencoded", "client_id=a&client_secret=b" },
        { "text/plain", "grant_type=client_credentials" },
        { "application/x-www-form-urlencoded", "grant_type=client_credentials&grant_type=refresh_token" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task MalformedTokenRequestsGetA400NeverA500(string contentType, string body)
    {
        using var client = platform.Host.CreateHttpClient();

        using var response = await client.PostAsync("/auth/token", new StringContent(body, Encoding.UTF8, contentType));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.ReadJsonAsync();
        Assert.False(string.IsNullOrEmpty(error.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task DiscoveryAndJwksLetAnyJwtLibraryValidateOurTokens()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(client, user);

        var discovery = await (await client.GetAsync("/.well-known/openid-configuration")).ReadJsonAsync();
        Assert.Equal(Chat4AllHost.TestIssuer, discovery.GetProperty("issuer").GetString());
        Assert.EndsWith("/auth/token", discovery.GetProperty("token_endpoint").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("/auth/revoke", discovery.GetProperty("revocation_endpoint").GetString(), StringComparison.Ordinal);
        var jwksPath = new Uri(discovery.GetProperty("jwks_uri").GetString()!).AbsolutePath;
        var jwks = new JsonWebKeySet(await client.GetStringAsync(jwksPath));

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token.AccessToken, new TokenValidationParameters
        {
            ValidIssuer = Chat4AllHost.TestIssuer,
            ValidAudience = "chat4all",
            IssuerSigningKeys = jwks.GetSigningKeys(),
        });

        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.All(jwks.Keys, key => Assert.False(key.HasPrivateKey));
    }

    [Fact]
    public async Task DiscoveryNamesEndpointsUnderTheConfiguredIssuerWhateverTheHostHeaderSays()
    {
        using var client = platform.Host.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/openid-configuration");
        request.Headers.Host = "attacker.example";

        using var response = await client.SendAsync(request);

        var discovery = await response.ReadJsonAsync();
        Assert.Equal(Chat4AllHost.TestIssuer, discovery.GetProperty("issuer").GetString());
        foreach (var name in new[] { "token_endpoint", "revocation_endpoint", "jwks_uri" })
        {
            Assert.StartsWith(Chat4AllHost.TestIssuer, discovery.GetProperty(name).GetString(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain("attacker.example", discovery.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientSecretsAreStoredHashed()
    {
        var user = await platform.CreateUserAsync();

        await using var connection = new Npgsql.NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("""SELECT "ClientSecret" FROM identity."OpenIddictApplications" WHERE "ClientId" = @id""", connection);
        command.Parameters.AddWithValue("id", user.ClientId);
        var stored = (string)(await command.ExecuteScalarAsync())!;

        Assert.NotEqual(user.ClientSecret, stored);
        Assert.DoesNotContain(user.ClientSecret, stored, StringComparison.Ordinal);
        Assert.True(stored.Length > 40);
    }
}
