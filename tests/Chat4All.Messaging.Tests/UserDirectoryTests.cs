using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;

namespace Chat4All.Messaging.Tests;

/// <summary>Display names: <c>/v1/me</c>, renames, the tenant's user directory and expanded members and senders.</summary>
public sealed class UserDirectoryTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    [Fact]
    public async Task MeShowsTheDisplayNameAndARenameReachesMessagingsDirectory()
    {
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        Assert.Equal(alice.Name, (await asAlice.GetJsonAsync("/v1/me")).GetProperty("name").GetString());

        var renamed = "Alice " + Guid.NewGuid().ToString("N")[..8];
        using var rename = await asAlice.PatchAsJsonAsync("/v1/me", new { name = "  " + renamed + " " });

        Assert.Equal(HttpStatusCode.OK, rename.StatusCode);
        Assert.Equal(renamed, (await asAlice.GetJsonAsync("/v1/me")).GetProperty("name").GetString());
        await WaitForDirectoryNameAsync(asAlice, alice.UserId, renamed);
    }

    [Fact]
    public async Task SearchIsACaseInsensitivePrefixOfTheNamePagedByCursorWithoutRepeats()
    {
        var tenant = Guid.NewGuid();
        var (asAnna, anna) = await UserNamedAsync(tenant, "anna");
        var (_, annabel) = await UserNamedAsync(tenant, "Annabel");
        var (_, bob) = await UserNamedAsync(tenant, "bob");
        await UserNamedAsync(tenant, "100%_sure");

        var first = await asAnna.GetJsonAsync("/v1/users?query=ANN&limit=1");
        Assert.True(first.GetProperty("has_more").GetBoolean());
        var second = await asAnna.GetJsonAsync($"/v1/users?query=ANN&limit=1&cursor={first.GetProperty("next_cursor").GetString()}");
        Assert.False(second.GetProperty("has_more").GetBoolean());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next_cursor").ValueKind);
        Assert.Equal(new[] { anna, annabel }.Order(), Ids(first).Concat(Ids(second)).Order());

        var everyone = await asAnna.GetJsonAsync("/v1/users");
        Assert.Equal(4, Ids(everyone).Count);
        Assert.Contains(bob, Ids(everyone));
        // LIKE's wildcards are literal characters of a name.
        Assert.Empty(Ids(await asAnna.GetJsonAsync("/v1/users?query=%25")));
        Assert.Empty(Ids(await asAnna.GetJsonAsync("/v1/users?query=_")));
        Assert.Single(Ids(await asAnna.GetJsonAsync("/v1/users?query=100%25_")));
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("cursor=bm8tYmFyLWhlcmU")] // "no-bar-here"
    public async Task BadPagingIsA400(string parameters)
    {
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);

        using var response = await asAlice.GetAsync("/v1/users?" + parameters);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task AHundredIsTheLargestPageAndFiftyTheDefault()
    {
        var tenant = Guid.NewGuid();
        var (asFirst, _) = await UserNamedAsync(tenant, "member-000");
        await Task.WhenAll(Enumerable.Range(1, 50).Select(i => platform.Host.CreateUserInTenantAsync(tenant)));

        var byDefault = await asFirst.GetJsonAsync("/v1/users");
        var largest = await asFirst.GetJsonAsync("/v1/users?limit=100");

        Assert.Equal(50, Ids(byDefault).Count);
        Assert.True(byDefault.GetProperty("has_more").GetBoolean());
        Assert.Equal(51, Ids(largest).Count);
        Assert.False(largest.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public async Task AUserOfAnotherTenantIs404AndNeverInTheDirectory()
    {
        var alice = await platform.CreateUserAsync();
        var mallory = await platform.Host.CreateUserInTenantAsync(Guid.NewGuid());
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        using var asMallory = await platform.CreateAuthenticatedClientAsync(mallory);

        using var theirs = await asAlice.GetAsync($"/v1/users/{mallory.UserId}");
        using var ours = await asMallory.GetAsync($"/v1/users/{alice.UserId}");

        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound], [theirs.StatusCode, ours.StatusCode]);
        Assert.Equal("user_not_found", (await theirs.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.DoesNotContain(mallory.UserId, Ids(await asAlice.GetJsonAsync($"/v1/users?query={mallory.Name}")));
        Assert.Equal([mallory.UserId], Ids(await asMallory.GetJsonAsync("/v1/users")));
    }

    [Fact]
    public async Task ARenameIsValidatedAndANameTakenInTheTenantIsA409()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);

        foreach (var bad in new[] { "", "   ", new string('x', 101), "tab\there", "nul\0" })
        {
            using var refused = await asAlice.PatchAsJsonAsync("/v1/me", new { name = bad });
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"'{bad}': {(int)refused.StatusCode}");
        }

        using var taken = await asAlice.PatchAsJsonAsync("/v1/me", new { name = bob.Name });
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        Assert.Equal("user_exists", (await taken.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal(alice.Name, (await asAlice.GetJsonAsync("/v1/me")).GetProperty("name").GetString());
    }

    [Fact]
    public async Task AnAdminRenamesAnyoneAndOthersMayNot()
    {
        var admin = await platform.CreateUserAsync(ChatScopes.Admin);
        var bob = await platform.CreateUserAsync();
        using var asAdmin = await platform.CreateAuthenticatedClientAsync(admin);
        using var asBob = await platform.CreateAuthenticatedClientAsync(bob);
        var renamed = "Robert " + Guid.NewGuid().ToString("N")[..8];

        using var byBob = await asBob.PatchAsJsonAsync($"/v1/admin/users/{admin.UserId}", new { name = "pwned" });
        using var byAdmin = await asAdmin.PatchAsJsonAsync($"/v1/admin/users/{bob.UserId}", new { name = renamed });
        using var nobody = await asAdmin.PatchAsJsonAsync($"/v1/admin/users/{Guid.NewGuid()}", new { name = "nobody" });

        Assert.Equal([HttpStatusCode.Forbidden, HttpStatusCode.OK, HttpStatusCode.NotFound], [byBob.StatusCode, byAdmin.StatusCode, nobody.StatusCode]);
        await WaitForDirectoryNameAsync(asBob, bob.UserId, renamed);
    }

    [Fact]
    public async Task MembersAndSendersExpandToIdsWithNamesOnlyWhenAsked()
    {
        var tenant = Guid.NewGuid();
        var (asAlice, alice) = await UserNamedAsync(tenant, "alice");
        var (_, bob) = await UserNamedAsync(tenant, "bob");
        var (_, carol) = await UserNamedAsync(tenant, "carol");
        var conversationId = await asAlice.CreateConversationAsync("group", bob, carol);
        var seq = await asAlice.SendAndGetSeqAsync(conversationId, "hello, names");
        var names = new Dictionary<Guid, string> { [alice] = "alice", [bob] = "bob", [carol] = "carol" };

        var plain = await asAlice.GetJsonAsync($"/v1/conversations/{conversationId}");
        var expanded = await asAlice.GetJsonAsync($"/v1/conversations/{conversationId}?expand=members");
        var listed = await asAlice.GetJsonAsync("/v1/conversations?expand=members");
        var history = await asAlice.GetJsonAsync($"/v1/conversations/{conversationId}/messages?expand=sender");
        var messageId = history.GetProperty("messages")[0].GetProperty("message_id").GetGuid();
        var single = await asAlice.GetJsonAsync($"/v1/messages/{messageId}?expand=sender");

        Assert.False(plain.TryGetProperty("member_details", out _));
        Assert.Equal(names.OrderBy(n => n.Key), MemberDetails(expanded).OrderBy(n => n.Key));
        Assert.Equal(names.OrderBy(n => n.Key), MemberDetails(listed.GetProperty("items")[0]).OrderBy(n => n.Key));
        Assert.Equal("alice", history.GetProperty("messages")[0].GetProperty("sender").GetProperty("name").GetString());
        Assert.Equal(seq, history.GetProperty("messages")[0].GetProperty("seq").GetInt64());
        Assert.Equal(alice, single.GetProperty("sender").GetProperty("user_id").GetGuid());
        Assert.Equal("alice", single.GetProperty("sender").GetProperty("name").GetString());

        using var unknown = await asAlice.GetAsync($"/v1/conversations/{conversationId}?expand=members,secrets");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    /// <summary>A user of <paramref name="tenant"/> renamed to <paramref name="name"/>, once messaging's directory shows the name.</summary>
    private async Task<(HttpClient Client, Guid UserId)> UserNamedAsync(Guid tenant, string name)
    {
        var user = await platform.Host.CreateUserInTenantAsync(tenant);
        var client = await platform.CreateAuthenticatedClientAsync(user);
        using var rename = await client.PatchAsJsonAsync("/v1/me", new { name });
        Assert.True(rename.IsSuccessStatusCode, await rename.Content.ReadAsStringAsync());
        await WaitForDirectoryNameAsync(client, user.UserId, name);
        return (client, user.UserId);
    }

    private static async Task WaitForDirectoryNameAsync(HttpClient client, Guid userId, string name)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await client.GetJsonAsync($"/v1/users/{userId}")).GetProperty("name").GetString() != name)
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    private static List<Guid> Ids(JsonElement page) => [.. page.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("user_id").GetGuid())];

    private static Dictionary<Guid, string> MemberDetails(JsonElement conversation) =>
        conversation.GetProperty("member_details").EnumerateArray().ToDictionary(m => m.GetProperty("user_id").GetGuid(), m => m.GetProperty("name").GetString()!);
}
