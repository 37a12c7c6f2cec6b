using System.Net;
using System.Text.Json;

namespace Chat4All.Messaging.Tests;

/// <summary>The conversation list pages by cursor: 50 by default, at most 100, and an offset is refused rather than ignored.</summary>
public sealed class ConversationPagingTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    [Fact]
    public async Task TheListHasFiftyByDefaultAHundredAtMostAndCursorsReachEveryConversationOnce()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var carol = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var created = new HashSet<Guid>();
        for (var i = 0; i < 101; i++)
        {
            created.Add(await asAlice.CreateConversationAsync("group", bob.UserId, carol.UserId));
        }

        var byDefault = await asAlice.GetJsonAsync("/v1/conversations");
        var largest = await asAlice.GetJsonAsync("/v1/conversations?limit=100");
        using var tooLarge = await asAlice.GetAsync("/v1/conversations?limit=101");
        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await asAlice.GetJsonAsync("/v1/conversations?limit=30" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            seen.AddRange(Ids(page));
            cursor = page.GetProperty("has_more").GetBoolean() ? page.GetProperty("next_cursor").GetString() : null;
        }
        while (cursor is not null && seen.Count < 500);

        Assert.Equal(50, Ids(byDefault).Count);
        Assert.True(byDefault.GetProperty("has_more").GetBoolean());
        Assert.Equal(100, Ids(largest).Count);
        Assert.Equal(HttpStatusCode.BadRequest, tooLarge.StatusCode);
        Assert.True((await tooLarge.ReadJsonAsync()).GetProperty("errors").TryGetProperty("limit", out _));
        Assert.Equal(101, seen.Count);
        Assert.Equal(created, seen.ToHashSet());
    }

    [Theory]
    [InlineData("offset=50")]
    [InlineData("offset=0&limit=10")]
    [InlineData("page=2")]
    public async Task AnOffsetOrPageIsRefusedWith400InsteadOfBeingIgnored(string query)
    {
        using var pair = await platform.Host.CreatePairAsync();

        using var response = await pair.AsAlice.GetAsync("/v1/conversations?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ReadJsonAsync();
        Assert.Equal("validation_failed", problem.GetProperty("code").GetString());
        var field = query.Split('=')[0];
        Assert.Contains("cursor", problem.GetProperty("errors").GetProperty(field)[0].GetString(), StringComparison.Ordinal);
    }

    private static List<Guid> Ids(JsonElement page) =>
        [.. page.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("conversation_id").GetGuid())];
}
