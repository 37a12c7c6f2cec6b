using System.Net;
using System.Net.Http.Json;

namespace Chat4All.Messaging.Tests;

/// <summary>A platform with one tenant whose users may not start private conversations with strangers.</summary>
public sealed class ContactsOnlyPlatform : PlatformFixture
{
    public static readonly Guid ContactsOnlyTenant = new("7e4a2d2c-0000-4000-8000-000000000016");

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Chat4All:RateLimiting:Enabled"] = "false",
        ["Chat4All:EventBus:KeyPrefix"] = "c4a-" + Guid.NewGuid().ToString("N")[..8],
        [$"Chat4All:Messaging:Tenants:{ContactsOnlyTenant}:StrangersMayStartPrivate"] = "false",
    };
}

/// <summary>Tenants see nothing of each other: members are users of the caller's tenant, other tenants' ids are 404.</summary>
public sealed class TenantIsolationTests(ContactsOnlyPlatform platform) : IClassFixture<ContactsOnlyPlatform>
{
    [Fact]
    public async Task AUserOfAnotherTenantCannotBeAMemberAndIsNamedIn422()
    {
        var alice = await platform.CreateUserAsync();
        var mallory = await platform.Host.CreateUserInTenantAsync(Guid.NewGuid());
        using var asMallory = await platform.CreateAuthenticatedClientAsync(mallory);

        using var response = await asMallory.PostAsJsonAsync("/v1/conversations", new { type = "private", members = new[] { alice.UserId } });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await response.ReadJsonAsync();
        Assert.Equal("unknown_members", problem.GetProperty("code").GetString());
        Assert.Equal([alice.UserId], problem.GetProperty("user_ids").EnumerateArray().Select(u => u.GetGuid()));
        Assert.Empty((await asMallory.GetJsonAsync("/v1/conversations")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task AMemberIdNoUserHasIsRefusedWith422ListingOnlyTheUnknownIds()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var nobody = Guid.NewGuid();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);

        using var response = await asAlice.PostAsJsonAsync("/v1/conversations", new { type = "group", members = new[] { bob.UserId, nobody } });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal([nobody], (await response.ReadJsonAsync()).GetProperty("user_ids").EnumerateArray().Select(u => u.GetGuid()));
    }

    [Fact]
    public async Task EveryConversationEndpointAnswers404ToAnotherTenantAnd403OrNotFoundToANonMember()
    {
        using var pair = await platform.Host.CreatePairAsync();
        using var message = await pair.AsAlice.SendTextAsync(pair.ConversationId, "tenant A only");
        var messageId = (await message.ReadJsonAsync()).GetProperty("message_id").GetGuid();
        var mallory = await platform.Host.CreateUserInTenantAsync(Guid.NewGuid());
        var eve = await platform.CreateUserAsync();
        using var asMallory = await platform.CreateAuthenticatedClientAsync(mallory);
        using var asEve = await platform.CreateAuthenticatedClientAsync(eve);

        foreach (var (client, expected) in new[] { (asMallory, HttpStatusCode.NotFound), (asEve, HttpStatusCode.Forbidden) })
        {
            using var get = await client.GetAsync($"/v1/conversations/{pair.ConversationId}");
            using var history = await client.GetAsync($"/v1/conversations/{pair.ConversationId}/messages");
            using var send = await client.SendTextAsync(pair.ConversationId, "let me in");
            using var read = await client.PostAsJsonAsync($"/v1/conversations/{pair.ConversationId}/read", new { up_to_seq = 1 });
            using var single = await client.GetAsync($"/v1/messages/{messageId}");

            Assert.Equal([expected, expected, expected, expected, HttpStatusCode.NotFound],
                [get.StatusCode, history.StatusCode, send.StatusCode, read.StatusCode, single.StatusCode]);
        }

        var seen = await pair.AsBob.GetJsonAsync($"/v1/conversations/{pair.ConversationId}/messages");
        Assert.Equal(["tenant A only"], seen.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task UsersOfTheSameNonDefaultTenantTalkAsUsual()
    {
        var tenant = Guid.NewGuid();
        var alice = await platform.Host.CreateUserInTenantAsync(tenant);
        var bob = await platform.Host.CreateUserInTenantAsync(tenant);
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        using var asBob = await platform.CreateAuthenticatedClientAsync(bob);

        var conversationId = await asAlice.CreateConversationAsync("private", bob.UserId);
        await asAlice.SendAndGetSeqAsync(conversationId, "hello, same tenant");

        var history = await asBob.GetJsonAsync($"/v1/conversations/{conversationId}/messages");
        Assert.Single(history.GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task ATenantThatRefusesStrangersAllowsPrivateConversationsOnlyBetweenPeopleWhoShareOne()
    {
        var tenant = ContactsOnlyPlatform.ContactsOnlyTenant;
        var alice = await platform.Host.CreateUserInTenantAsync(tenant);
        var bob = await platform.Host.CreateUserInTenantAsync(tenant);
        var carol = await platform.Host.CreateUserInTenantAsync(tenant);
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);

        using var stranger = await asAlice.PostAsJsonAsync("/v1/conversations", new { type = "private", members = new[] { bob.UserId } });
        Assert.Equal(HttpStatusCode.Forbidden, stranger.StatusCode);
        Assert.Equal("contacts_only", (await stranger.ReadJsonAsync()).GetProperty("code").GetString());

        await asAlice.CreateConversationAsync("group", bob.UserId, carol.UserId);
        using var contact = await asAlice.PostAsJsonAsync("/v1/conversations", new { type = "private", members = new[] { bob.UserId } });
        Assert.Equal(HttpStatusCode.Created, contact.StatusCode);
    }
}
