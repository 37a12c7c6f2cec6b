using System.Net;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat4All.Identity.Tests;

public sealed class RefreshTokenTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Fact]
    public async Task RefreshIssuesANewAccessTokenAndRotatesTheRefreshToken()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var first = await OAuth.RequestTokenAsync(client, user);

        using var response = await OAuth.RefreshAsync(client, user, first.RefreshToken!);
        var second = await OAuth.ReadTokenAsync(response);

        Assert.NotEqual(first.RefreshToken, second.RefreshToken);
        Assert.NotEqual(first.AccessToken, second.AccessToken);
        Assert.Equal(user.UserId.ToString(), new JsonWebToken(second.AccessToken).Subject);
        Assert.Equal(new JsonWebToken(first.AccessToken).GetClaim("tenant_id").Value, new JsonWebToken(second.AccessToken).GetClaim("tenant_id").Value);
    }

    [Fact]
    public async Task TheOldRefreshTokenIsRejectedAfterRotation()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var first = await OAuth.RequestTokenAsync(client, user);
        using (var rotated = await OAuth.RefreshAsync(client, user, first.RefreshToken!))
        {
            Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        }

        using var reuse = await OAuth.RefreshAsync(client, user, first.RefreshToken!);

        Assert.Equal(HttpStatusCode.BadRequest, reuse.StatusCode);
        Assert.Equal("invalid_grant", (await reuse.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task ReusingARotatedRefreshTokenRevokesTheWholeFamily()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var first = await OAuth.RequestTokenAsync(client, user);
        var second = await OAuth.ReadTokenAsync(await OAuth.RefreshAsync(client, user, first.RefreshToken!));
        var third = await OAuth.ReadTokenAsync(await OAuth.RefreshAsync(client, user, second.RefreshToken!));

        using (var reuse = await OAuth.RefreshAsync(client, user, first.RefreshToken!))
        {
            Assert.Equal(HttpStatusCode.BadRequest, reuse.StatusCode);
        }

        // The newest token of the family, never used, is now dead too: a thief's copy is worthless.
        using var newest = await OAuth.RefreshAsync(client, user, third.RefreshToken!);
        Assert.Equal(HttpStatusCode.BadRequest, newest.StatusCode);
        Assert.Equal("invalid_grant", (await newest.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task OfConcurrentRefreshesWithOneTokenExactlyOneWinsAndTheFamilyIsRevoked()
    {
        // The interleavings differ from race to race; one race rarely hits the narrow ones (a loser
        // refused by the status check while the winner is still writing its descendant).
        for (var race = 0; race < 10; race++)
        {
            await RaceOnceAsync();
        }
    }

    private async Task RaceOnceAsync()
    {
        const int attempts = 8;
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var first = await OAuth.RequestTokenAsync(client, user);

        // Separate connections so the requests really run side by side in the server.
        var clients = Enumerable.Range(0, attempts).Select(_ => platform.Host.CreateHttpClient()).ToList();
        using var start = new SemaphoreSlim(0);
        var requests = clients.Select(async c =>
        {
            await start.WaitAsync();
            return await OAuth.RefreshAsync(c, user, first.RefreshToken!);
        }).ToList();
        start.Release(attempts);
        var responses = await Task.WhenAll(requests);

        var winners = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        Assert.Single(winners);
        Assert.All(responses.Except(winners), r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));

        // The race was a reuse: the winner's descendant belongs to a revoked family.
        var descendant = await OAuth.ReadTokenAsync(winners[0]);
        using var afterwards = await OAuth.RefreshAsync(client, user, descendant.RefreshToken!);
        Assert.Equal(HttpStatusCode.BadRequest, afterwards.StatusCode);
        Assert.Equal("invalid_grant", (await afterwards.ReadJsonAsync()).GetProperty("error").GetString());
        foreach (var (response, c) in responses.Zip(clients))
        {
            response.Dispose();
            c.Dispose();
        }
    }

    [Fact]
    public async Task AnotherFamilyOfTheSameClientSurvivesAReuseDetection()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var compromised = await OAuth.RequestTokenAsync(client, user);
        var independent = await OAuth.RequestTokenAsync(client, user);
        await OAuth.ReadTokenAsync(await OAuth.RefreshAsync(client, user, compromised.RefreshToken!));
        (await OAuth.RefreshAsync(client, user, compromised.RefreshToken!)).Dispose();

        using var response = await OAuth.RefreshAsync(client, user, independent.RefreshToken!);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ARevokedRefreshTokenCannotBeUsed()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(client, user);

        using (var revoke = await OAuth.PostFormAsync(client, "/auth/revoke",
                   ("token", token.RefreshToken!), ("token_type_hint", "refresh_token"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret)))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        using var refresh = await OAuth.RefreshAsync(client, user, token.RefreshToken!);
        Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
        Assert.Equal("invalid_grant", (await refresh.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task RevokingAnUnknownTokenStillAnswers200AsRfc7009Requires()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();

        using var revoke = await OAuth.PostFormAsync(client, "/auth/revoke",
            ("token", "not-a-token-we-issued"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret));

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
    }

    [Fact]
    public async Task RevocationRequiresClientAuthentication()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(client, user);

        using var revoke = await OAuth.PostFormAsync(client, "/auth/revoke",
            ("token", token.RefreshToken!), ("client_id", user.ClientId), ("client_secret", "wrong"));

        Assert.Equal(HttpStatusCode.Unauthorized, revoke.StatusCode);
        using var refresh = await OAuth.RefreshAsync(client, user, token.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
    }

    [Fact]
    public async Task ARefreshTokenIsUselessToAnotherClient()
    {
        var owner = await platform.CreateUserAsync();
        var thief = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(client, owner);

        using var stolen = await OAuth.RefreshAsync(client, thief, token.RefreshToken!);

        Assert.Equal(HttpStatusCode.BadRequest, stolen.StatusCode);
        Assert.Equal("invalid_grant", (await stolen.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task RefreshTokensAreOpaqueAndStoredOnlyAsHashes()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(client, user);

        Assert.DoesNotContain('.', token.RefreshToken!);
        await using var connection = new NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """SELECT count(*) FROM identity."OpenIddictTokens" WHERE "ReferenceId" = @token OR "Payload" LIKE '%' || @token || '%'""", connection);
        command.Parameters.AddWithValue("token", token.RefreshToken!);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);

        await using var hashed = new NpgsqlCommand(
            """SELECT count(*) FROM identity."OpenIddictTokens" WHERE "ReferenceId" = @hash""", connection);
        hashed.Parameters.AddWithValue("hash", Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token.RefreshToken!))));
        Assert.Equal(1L, (long)(await hashed.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task TokensExpiredLongerAgoThanTheirAgeAreDeletedWithTheirEmptyAuthorizationWhileALiveFamilyKeepsWorking()
    {
        var user = await platform.CreateUserAsync();
        using var client = platform.Host.CreateHttpClient();
        var stale = await OAuth.RequestTokenAsync(client, user);
        var live = await OAuth.RequestTokenAsync(client, user);
        await using var connection = new NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        string staleAuthorization;
        await using (var find = new NpgsqlCommand("""SELECT "AuthorizationId" FROM identity."OpenIddictTokens" WHERE "ReferenceId" = @hash""", connection))
        {
            find.Parameters.AddWithValue("hash", Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(stale.RefreshToken!))));
            staleAuthorization = (string)(await find.ExecuteScalarAsync())!;
        }

        await using (var age = new NpgsqlCommand(
            """
            UPDATE identity."OpenIddictTokens" SET "ExpirationDate" = now() - interval '2 days', "CreationDate" = now() - interval '32 days' WHERE "AuthorizationId" = @id;
            UPDATE identity."OpenIddictAuthorizations" SET "CreationDate" = now() - interval '32 days' WHERE "Id" = @id;
            """, connection))
        {
            age.Parameters.AddWithValue("id", staleAuthorization);
            await age.ExecuteNonQueryAsync();
        }

        var deleted = await platform.Host.Services.GetRequiredService<Chat4All.BuildingBlocks.Retention.RetentionService>().RunOnceAsync(CancellationToken.None);

        Assert.True(deleted[Chat4All.BuildingBlocks.Retention.RetentionRules.ExpiredTokens] >= 2);
        await using (var left = new NpgsqlCommand(
            """SELECT (SELECT count(*) FROM identity."OpenIddictTokens" WHERE "AuthorizationId" = @id) + (SELECT count(*) FROM identity."OpenIddictAuthorizations" WHERE "Id" = @id)""", connection))
        {
            left.Parameters.AddWithValue("id", staleAuthorization);
            Assert.Equal(0L, (long)(await left.ExecuteScalarAsync())!);
        }

        using var refreshed = await OAuth.RefreshAsync(client, user, live.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
    }
}
