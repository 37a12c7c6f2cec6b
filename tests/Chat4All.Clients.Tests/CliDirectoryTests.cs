using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Cli;

namespace Chat4All.Clients.Tests;

/// <summary><c>--member NAME</c> resolves through the tenant's user directory, and refuses rather than guesses.</summary>
public sealed class CliDirectoryTests(ClientsPlatform platform) : IClassFixture<ClientsPlatform>
{
    [Fact]
    public async Task AMemberGivenByNameIsResolvedThroughTheUserDirectory()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var name = "Bob " + Guid.NewGuid().ToString("N")[..8];
        await RenameAsync(bob, name);
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);

        var created = await cli.RunAsync("conversations", "create", "--member", name, "-o", "json");

        Assert.True(created.ExitCode == 0, created.ToString());
        var members = JsonDocument.Parse(created.Stdout).RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetGuid());
        Assert.Equal(new[] { alice.UserId, bob.UserId }.Order(), members.Order());
    }

    [Fact]
    public async Task ANameThatMatchesSeveralUsersOnlyIgnoringCaseIsAUsageErrorAndTheExactNameWins()
    {
        var alice = await platform.CreateUserAsync();
        var upper = await platform.CreateUserAsync();
        var lower = await platform.CreateUserAsync();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await RenameAsync(upper, "Sam-" + suffix);
        await RenameAsync(lower, "sam-" + suffix);
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);

        var ambiguous = await cli.RunAsync("conversations", "create", "--member", "SAM-" + suffix);
        var exact = await cli.RunAsync("conversations", "create", "--member", "sam-" + suffix, "-o", "json");

        Assert.Equal(ExitCodes.Usage, ambiguous.ExitCode);
        Assert.Contains("Several users", ambiguous.Stderr);
        Assert.True(exact.ExitCode == 0, exact.ToString());
        Assert.Contains(lower.UserId, JsonDocument.Parse(exact.Stdout).RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetGuid()));
    }

    private async Task RenameAsync(TestUser user, string name)
    {
        using var client = await platform.CreateAuthenticatedClientAsync(user);
        using var renamed = await client.PatchAsJsonAsync("/v1/me", new { name });
        renamed.EnsureSuccessStatusCode();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await client.GetFromJsonAsync<JsonElement>($"/v1/users/{user.UserId}", timeout.Token)).GetProperty("name").GetString() != name)
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
