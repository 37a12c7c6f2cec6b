namespace Chat4All.Clients.Tests;

/// <summary>With five-second access tokens: the CLI refreshes on its own, and tail rides through the 4001 closes.</summary>
public sealed class TokenExpiryCliTests(ShortTokenClientsPlatform platform) : IClassFixture<ShortTokenClientsPlatform>
{
    [Fact]
    public async Task TailReconnectsWhenItsTokenExpiresWithoutLosingOrRepeatingAMessage()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = (await platform.CreateConversationAsync(alice, bob)).ToString();
        using var aliceCli = await CliRunner.SignedInAsync(platform.Host, alice);
        using var bobCli = await CliRunner.SignedInAsync(platform.Host, bob);
        const int Count = 30;

        using var tail = aliceCli.Start(["tail", "-o", "json", "--messages-only", "--count", Count.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await tail.Error.WaitForAsync(t => t.Contains("connected", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "tail to connect");
        for (var i = 1; i <= Count; i++)
        {
            // Bob's CLI also outlives several of its own tokens: each send refreshes when needed.
            var sent = await bobCli.RunAsync("send", "-c", conversationId, $"message {i}");
            Assert.True(sent.ExitCode == 0, sent.ToString());
            await Task.Delay(450);
        }

        var result = await tail.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.ToString());
        var frames = result.JsonLines.ToList();
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), frames.Select(f => f.GetProperty("data").GetProperty("seq").GetInt64()));
        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"message {i}"),
            frames.Select(f => f.GetProperty("data").GetProperty("payload").GetProperty("text").GetString()));
        Assert.Contains("disconnected (4001", result.Stderr); // the server closed the expired socket at least once
    }
}
