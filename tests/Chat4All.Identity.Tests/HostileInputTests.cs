using System.Net;
using System.Net.Http.Json;
using System.Text;
using Chat4All.Contracts;
using Npgsql;

namespace Chat4All.Identity.Tests;

/// <summary>Inputs an attacker sends to identity: each gets a 4xx with a readable body and changes nothing.</summary>
public sealed class HostileInputTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    public static TheoryData<string> TokenRequestsWithNul => new()
    {
        "grant_type=client_credentials&client_id=demo-alice%00&client_secret=x",
        "grant_type=client_credentials&client_id=demo-alice&client_secret=x%00",
        "grant_type=client_credentials&client_id=c4a_x&client_secret=x&scope=messages%00",
        "grant_type=client_credentials%00&client_id=c4a_x&client_secret=x",
        "grant_type=client_credentials&client_id=c4a_x&client_secret=x&sco%00pe=messages",
    };

    [Theory]
    [MemberData(nameof(TokenRequestsWithNul))]
    public async Task ANulInAnyTokenRequestFormFieldIsABadRequestNotA500(string form)
    {
        using var client = platform.Host.CreateHttpClient();

        using var response = await client.PostAsync("/auth/token", new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded"));

        // The form reader itself refuses a NUL: the body is malformed before it is an OAuth request.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("bad_request", (await response.ReadJsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task AControlCharacterInBasicCredentialsIsAnInvalidRequestNotA500()
    {
        using var client = platform.Host.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]),
            Headers = { Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("demo-alice\0:secret"))) },
        };

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request", (await response.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task ANulInTheScopeOfARealClientIsRefusedAndIssuesNothing()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();

        using var response = await OAuth.PostTokenAsync(client,
            ("grant_type", "client_credentials"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret), ("scope", "messages\0"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0L, await CountAsync("""SELECT count(*) FROM identity."OpenIddictTokens" WHERE "Subject" = @p""", user.UserId.ToString()));
    }

    [Fact]
    public async Task ANulInARevocationRequestIsABadRequestNotA500()
    {
        using var client = platform.Host.CreateHttpClient();

        using var response = await OAuth.PostFormAsync(client, "/auth/revoke", ("token", "x"), ("client_id", "demo-alice\0"), ("client_secret", "x"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("bad_request", (await response.ReadJsonAsync()).GetProperty("code").GetString());
    }

    public static TheoryData<string> IncompleteProvisioningBodies => new()
    {
        "{}",
        """{"name":null}""",
        """{"name":"nul-scope","scopes":[null]}""",
        """{"name":"nul\u0000name"}""",
        """{"name":"nul-in-scope","scopes":["messages\u0000"]}""",
        """{"scopes":null,"tenant_id":null}""",
    };

    [Theory]
    [MemberData(nameof(IncompleteProvisioningBodies))]
    public async Task IncompleteProvisioningRequestsGetAValidationProblemAndCreateNoUser(string body)
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(admin);
        var usersBefore = await CountAsync("SELECT count(*) FROM identity.users WHERE @p = @p", "");

        using var response = await client.PostAsync("/v1/admin/users", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("validation_failed", (await response.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal(usersBefore, await CountAsync("SELECT count(*) FROM identity.users WHERE @p = @p", ""));
    }

    [Fact]
    public async Task ARateLimitProblemHasAType()
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(admin);
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 100 && limited is null; i++)
        {
            var response = await client.PostAsJsonAsync("/v1/admin/users", new { name = "" });
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                response.Dispose();
            }
        }

        Assert.NotNull(limited);
        using (limited)
        {
            var problem = await limited.ReadJsonAsync();
            Assert.Equal("https://tools.ietf.org/html/rfc6585#section-4", problem.GetProperty("type").GetString());
        }
    }

    private async Task<long> CountAsync(string sql, string parameter)
    {
        await using var connection = new NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("p", parameter);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
