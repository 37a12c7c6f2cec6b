namespace Chat4All.Realtime.Tests;

/// <summary>Access tokens that live five seconds, to see expiry at connect time and while connected.</summary>
public sealed class ShortTokenPlatform : RealtimePlatform
{
    protected override IReadOnlyDictionary<string, string?> Settings =>
        new Dictionary<string, string?>(base.Settings) { ["Chat4All:Identity:AccessTokenLifetime"] = "00:00:05" };
}

public sealed class TokenExpiryTests(ShortTokenPlatform platform) : IClassFixture<ShortTokenPlatform>
{
    [Fact]
    public async Task AnExpiredTokenIsClosedWith4001()
    {
        using var member = await platform.CreateMemberAsync();
        await Task.Delay(TimeSpan.FromSeconds(6));

        await using var socket = await member.ConnectAsync(platform.Host);

        Assert.Equal(4001, (int?)await socket.WaitForCloseAsync());
    }

    [Fact]
    public async Task AConnectionIsClosedWith4001WhenItsTokenExpires()
    {
        using var member = await platform.CreateMemberAsync();
        await using var socket = await member.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");

        Assert.Equal(4001, (int?)await socket.WaitForCloseAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal("token_expired", socket.CloseDescription);
    }
}
