using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat4All.Identity.Tests;

public sealed class BearerValidationTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Fact]
    public async Task AMissingTokenGets401WithABearerChallengeAndAProblemBody()
    {
        using var client = platform.Host.CreateHttpClient();

        using var response = await client.GetAsync("/v1/me");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.Equal("unauthorized", problem.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("trace_id").GetString()));
    }

    public static TheoryData<string> Forgeries => ["tampered", "expired", "alg-none", "wrong-issuer", "wrong-audience", "foreign-key", "garbage"];

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task AnInvalidTokenIsRejectedWith401AndInvalidToken(string forgery)
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var genuine = await OAuth.RequestTokenAsync(client, user);
        var token = forgery switch
        {
            "tampered" => Tamper(genuine.AccessToken),
            "expired" => Sign(user, OurKey(), Chat4AllHost.TestIssuer, "chat4all", DateTime.UtcNow.AddMinutes(-30), DateTime.UtcNow.AddMinutes(-15)),
            "alg-none" => Unsigned(user),
            "wrong-issuer" => Sign(user, OurKey(), "http://evil.example/", "chat4all"),
            "wrong-audience" => Sign(user, OurKey(), Chat4AllHost.TestIssuer, "someone-else"),
            "foreign-key" => Sign(user, new RsaSecurityKey(RSA.Create(2048)) { KeyId = "foreign" }, Chat4AllHost.TestIssuer, "chat4all"),
            _ => "not.a.jwt",
        };

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/me") { Headers = { Authorization = new("Bearer", token) } };
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = response.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Contains("error=\"invalid_token\"", challenge.Parameter, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATokenSignedWithOurKeyIsAcceptedSoTheForgeriesAboveFailForTheirFlawAlone()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var token = Sign(user, OurKey(), Chat4AllHost.TestIssuer, "chat4all");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/me") { Headers = { Authorization = new("Bearer", token) } };
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AMissingScopeGets403()
    {
        var user = await platform.CreateUserAsync(Contracts.ChatScopes.Messages);
        using var client = await platform.CreateAuthenticatedClientAsync(user);

        using var response = await client.PostAsJsonAsync("/v1/admin/users", new { name = "x" });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("forbidden", (await response.ReadJsonAsync()).GetProperty("code").GetString());
    }

    private RsaSecurityKey OurKey()
    {
        var rsa = RSA.Create();
        rsa.ImportFromPem(File.ReadAllText(Path.Combine(platform.DataDirectory.Path, "keys", "signing.pem")));
        var key = new RsaSecurityKey(rsa);
        key.KeyId = Base64UrlEncoder.Encode(key.ComputeJwkThumbprint());
        return key;
    }

    private static string Sign(TestUser user, SecurityKey key, string issuer, string audience, DateTime? notBefore = null, DateTime? expires = null)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = notBefore ?? now,
            NotBefore = notBefore ?? now,
            Expires = expires ?? now.AddMinutes(10),
            TokenType = "at+jwt",
            Subject = new ClaimsIdentity([new Claim("sub", user.UserId.ToString()), new Claim("scope", "messages files admin")]),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
    }

    private static string Unsigned(TestUser user)
    {
        static string Encode(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
        var exp = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        return Encode("""{"alg":"none","typ":"at+jwt"}""") + "." +
               Encode($$"""{"iss":"{{Chat4AllHost.TestIssuer}}","aud":"chat4all","sub":"{{user.UserId}}","scope":"admin","exp":{{exp}}}""") + ".";
    }

    private static string Tamper(string jwt)
    {
        // Change the payload (grant admin) but keep the original signature.
        var parts = jwt.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"scope\":\"", "\"scope\":\"admin ", StringComparison.Ordinal);
        return parts[0] + "." + Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(payload)) + "." + parts[2];
    }
}
