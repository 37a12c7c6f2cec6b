using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;
using Chat4All.Delivery.Connectors;

namespace Chat4All.Delivery.Tests.Subscriptions;

/// <summary>The subscriptions API over real HTTP: create, list, get, delete; validation, the SSRF rule, and who may see what.</summary>
public sealed class WebhookSubscriptionApiTests(WebhookPlatform platform) : IClassFixture<WebhookPlatform>
{
    private static readonly Uri Receiver = new("http://127.0.0.1:9/hooks");

    [Fact]
    public async Task ASubscriptionIsCreatedWithAGeneratedSecretShownOnceThenListedFetchedAndDeleted()
    {
        using var client = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());

        using var created = await client.PostAsJsonAsync(WebhookApi.Subscriptions, new { url = Receiver, events = new[] { Topics.MessageCreated } });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.ReadJsonAsync();
        var id = body.Id();
        Assert.Equal($"/v1/webhooks/subscriptions/{id}", created.Headers.Location?.OriginalString);
        Assert.StartsWith(StandardWebhooks.SecretPrefix, body.Secret(), StringComparison.Ordinal);
        Assert.True(StandardWebhooks.IsValidSecret(body.Secret()));
        Assert.Equal(("user", "active", Receiver.AbsoluteUri), (body.GetProperty("scope").GetString(), body.GetProperty("status").GetString(),
            body.GetProperty("url").GetString()));
        var fetched = await client.GetJsonAsync($"{WebhookApi.Subscriptions}/{id}");
        Assert.False(fetched.TryGetProperty("secret", out _));
        var listed = (await client.GetJsonAsync(WebhookApi.Subscriptions)).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(id, Assert.Single(listed).Id());
        Assert.False(listed[0].TryGetProperty("secret", out _));

        using var deleted = await client.DeleteAsync($"{WebhookApi.Subscriptions}/{id}");
        using var again = await client.GetAsync($"{WebhookApi.Subscriptions}/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Empty((await client.GetJsonAsync(WebhookApi.Subscriptions)).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task AGivenSecretIsKeptAndEveryCatalogEventOrAStarIsAccepted()
    {
        using var client = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        var secret = StandardWebhooks.GenerateSecret();

        var every = await client.SubscribeAsync(Receiver, [.. Contracts.Events.EventCatalog.Events.Select(e => e.Topic)], secret: secret);
        var star = await client.SubscribeAsync(Receiver, ["*"]);

        Assert.Equal(secret, every.Secret());
        Assert.Equal(["*"], star.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("""{"url":"http://127.0.0.1:9/hooks","events":["message.exploded"]}""", "events")]
    [InlineData("""{"url":"http://127.0.0.1:9/hooks","events":[]}""", "events")]
    [InlineData("""{"url":"http://127.0.0.1:9/hooks"}""", "events")]
    [InlineData("""{"events":["message.created"]}""", "url")]
    [InlineData("""{"url":"ftp://127.0.0.1/hooks","events":["message.created"]}""", "url")]
    [InlineData("""{"url":"/relative","events":["message.created"]}""", "url")]
    [InlineData("""{"url":"http://user:pw@127.0.0.1:9/hooks","events":["message.created"]}""", "url")]
    [InlineData("""{"url":"http://127.0.0.1:9/hooks","events":["message.created"],"secret":"whsec_short"}""", "secret")]
    [InlineData("""{"url":"http://127.0.0.1:9/hooks","events":["message.created"],"scope":"galaxy"}""", "scope")]
    public async Task BadInputIsAValidationProblemNamingTheFieldAndCreatesNothing(string json, string field)
    {
        using var client = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());

        using var response = await client.PostAsync(WebhookApi.Subscriptions, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True((await response.ReadJsonAsync()).GetProperty("errors").TryGetProperty(field, out _));
        Assert.Empty((await client.GetJsonAsync(WebhookApi.Subscriptions)).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("http://localhost:8080/hooks", "loopback")]
    [InlineData("http://127.0.0.2/hooks", "loopback")]
    [InlineData("http://[::1]:8080/hooks", "loopback")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "link-local")]
    [InlineData("http://[fe80::1]/hooks", "link-local")]
    [InlineData("http://0.0.0.0:8080/hooks", "unspecified")]
    [InlineData("http://224.0.0.1/hooks", "multicast")]
    [InlineData("http://10.1.2.3/hooks", "private")]
    [InlineData("http://192.168.0.10/hooks", "private")]
    [InlineData("http://[::ffff:127.0.0.1]/hooks", "loopback")]
    public async Task LoopbackLinkLocalAndOtherInternalTargetsAreRefusedUnlessAllowListed(string url, string kind)
    {
        using var client = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());

        using var response = await client.PostAsJsonAsync(WebhookApi.Subscriptions, new { url, events = new[] { "*" } });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await response.ReadJsonAsync();
        Assert.Equal("webhook_target_refused", problem.GetProperty("code").GetString());
        Assert.Contains(kind, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty((await client.GetJsonAsync(WebhookApi.Subscriptions)).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task TheAllowListedLoopbackAddressIsAccepted()
    {
        using var client = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());

        var subscription = await client.SubscribeAsync(new Uri("http://127.0.0.1:8080/hooks"), ["*"]);

        Assert.Equal("http://127.0.0.1:8080/hooks", subscription.GetProperty("url").GetString());
    }

    [Fact]
    public async Task ATenantWideSubscriptionNeedsTheAdminScope()
    {
        using var user = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Messages, ChatScopes.Admin));

        using var refused = await user.PostAsJsonAsync(WebhookApi.Subscriptions, new { url = Receiver, events = new[] { "*" }, scope = "tenant" });
        var accepted = await admin.SubscribeAsync(Receiver, ["*"], scope: "tenant");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("admin_scope_required", (await refused.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal("tenant", accepted.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task OtherUsersAndOtherTenantsGetNotFoundOnEveryRouteWhileTheTenantsAdminSeesIt()
    {
        using var owner = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        using var stranger = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        using var otherTenantAdmin = await platform.CreateAuthenticatedClientAsync(
            await platform.Host.CreateUserInTenantAsync(Guid.NewGuid(), ChatScopes.Messages, ChatScopes.Admin));
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Messages, ChatScopes.Admin));
        var id = (await owner.SubscribeAsync(Receiver, [Topics.MessageCreated])).Id();
        var path = $"{WebhookApi.Subscriptions}/{id}";

        foreach (var intruder in new[] { stranger, otherTenantAdmin })
        {
            using var get = await intruder.GetAsync(path);
            using var deliveries = await intruder.GetAsync($"{path}/deliveries");
            using var replay = await intruder.PostAsync($"{path}/deliveries/{Guid.NewGuid()}/replay", null);
            using var enable = await intruder.PostAsync($"{path}/enable", null);
            using var delete = await intruder.DeleteAsync(path);
            Assert.All(new[] { get, deliveries, replay, enable, delete }, r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
            Assert.Equal("webhook_subscription_not_found", (await get.ReadJsonAsync()).GetProperty("code").GetString());
            Assert.DoesNotContain((await intruder.GetJsonAsync(WebhookApi.Subscriptions)).GetProperty("items").EnumerateArray(), s => s.Id() == id);
        }

        Assert.Contains((await admin.GetJsonAsync(WebhookApi.Subscriptions)).GetProperty("items").EnumerateArray(), s => s.Id() == id);
        Assert.Equal(id, (await admin.GetJsonAsync(path)).Id());
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task WithoutATokenEveryRouteIsUnauthorized()
    {
        using var anonymous = platform.Host.CreateHttpClient();

        using var list = await anonymous.GetAsync(WebhookApi.Subscriptions);
        using var create = await anonymous.PostAsJsonAsync(WebhookApi.Subscriptions, new { url = Receiver, events = new[] { "*" } });

        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, create.StatusCode);
    }

    [Fact]
    public async Task ABadDeliveryLogQueryIsAValidationProblemAndAnUnknownDeliveryIsNotFound()
    {
        using var owner = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        var path = $"{WebhookApi.Subscriptions}/{(await owner.SubscribeAsync(Receiver, ["*"])).Id()}";

        using var limit = await owner.GetAsync($"{path}/deliveries?limit=101");
        using var cursor = await owner.GetAsync($"{path}/deliveries?cursor=%%%");
        using var status = await owner.GetAsync($"{path}/deliveries?status=exploded");
        using var replay = await owner.PostAsync($"{path}/deliveries/{Guid.NewGuid()}/replay", null);

        Assert.All(new[] { limit, cursor, status }, r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        Assert.Equal(HttpStatusCode.NotFound, replay.StatusCode);
        Assert.Equal("webhook_delivery_not_found", (await replay.ReadJsonAsync()).GetProperty("code").GetString());
    }
}
