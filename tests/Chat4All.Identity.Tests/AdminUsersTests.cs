using System.Net;
using System.Net.Http.Json;
using Chat4All.Contracts;

namespace Chat4All.Identity.Tests;

public sealed class AdminUsersTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Fact]
    public async Task AnAdminProvisionsAUserWhoCanThenSignIn()
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(admin);

        using var response = await client.PostAsJsonAsync("/v1/admin/users", new { name = "erin-" + Guid.NewGuid().ToString("N")[..6], scopes = new[] { "messages" } });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.ReadJsonAsync();
        var user = new TestUser(created.GetProperty("user_id").GetGuid(), created.GetProperty("name").GetString()!,
            created.GetProperty("client_id").GetString()!, created.GetProperty("client_secret").GetString()!, ["messages"]);
        Assert.Equal($"/v1/admin/users/{user.UserId}", response.Headers.Location?.OriginalString);
        using var anonymous = platform.Host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(anonymous, user);
        Assert.Contains("messages", token.Scope!.Split(' '));
        Assert.DoesNotContain("admin", token.Scope!.Split(' '));
    }

    [Fact]
    public async Task InvalidProvisioningRequestsGetAValidationProblemAndCreateNothing()
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(admin);

        using var emptyName = await client.PostAsJsonAsync("/v1/admin/users", new { name = "" });
        using var badScope = await client.PostAsJsonAsync("/v1/admin/users", new { name = "frank", scopes = new[] { "root" } });
        using var notJson = await client.PostAsync("/v1/admin/users", new StringContent("{name:", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, emptyName.StatusCode);
        Assert.True((await emptyName.ReadJsonAsync()).GetProperty("errors").TryGetProperty("name", out _));
        Assert.Equal(HttpStatusCode.BadRequest, badScope.StatusCode);
        var scopeProblem = await badScope.ReadJsonAsync();
        Assert.Equal("validation_failed", scopeProblem.GetProperty("code").GetString());
        Assert.True(scopeProblem.GetProperty("errors").TryGetProperty("scopes", out _));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal("application/problem+json", notJson.Content.Headers.ContentType?.MediaType);

        await using var connection = new Npgsql.NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM identity.users WHERE name = 'frank'", connection);
        Assert.Equal(0L, (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task ADuplicateNameGets409()
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        using var client = await platform.CreateAuthenticatedClientAsync(admin);
        var name = "grace-" + Guid.NewGuid().ToString("N")[..6];
        using (var first = await client.PostAsJsonAsync("/v1/admin/users", new { name }))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        using var second = await client.PostAsJsonAsync("/v1/admin/users", new { name });

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("user_exists", (await second.ReadJsonAsync()).GetProperty("code").GetString());
    }
}
