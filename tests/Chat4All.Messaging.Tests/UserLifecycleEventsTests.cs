using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;

namespace Chat4All.Messaging.Tests;

/// <summary>
/// Identity announces disabling, re-enabling and deleting a user (<c>user.disabled</c>,
/// <c>user.enabled</c>, <c>user.deleted</c>), and messaging's directory and member checks follow
/// <c>user.deleted</c>; all driven through the admin API over real HTTP.
/// </summary>
public sealed class UserLifecycleEventsTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    [Fact]
    public async Task DisablingReEnablingAndDeletingAUserEachPublishOneEventWithTheUsersTenant()
    {
        var tenant = Guid.NewGuid();
        var user = await platform.Host.CreateUserInTenantAsync(tenant);
        using var admin = await AdminAsync();

        foreach (var (method, path) in new[] { ("POST", "disable"), ("POST", "disable"), ("POST", "enable"), ("POST", "enable") })
        {
            using var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"/v1/admin/users/{user.UserId}/{path}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var deleted = await admin.DeleteAsync($"/v1/admin/users/{user.UserId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        var gone = await WaitForAsync(Topics.UserDeleted, user.UserId);
        await WaitForAsync(Topics.UserDisabled, user.UserId);
        await WaitForAsync(Topics.UserEnabled, user.UserId);
        var disabled = await PublishedEvents.ReadAsync(platform.Redis, platform.EventBusPrefix, Topics.UserDisabled, e => e.GetProperty("user_id").GetGuid() == user.UserId);
        var enabled = await PublishedEvents.ReadAsync(platform.Redis, platform.EventBusPrefix, Topics.UserEnabled, e => e.GetProperty("user_id").GetGuid() == user.UserId);

        // Doing it again changes nothing and announces nothing: one event per real change.
        Assert.Equal([1, 1, 1], [disabled.Count, enabled.Count, gone.Count]);
        Assert.All(disabled.Concat(enabled).Concat(gone), e =>
        {
            Assert.Equal(tenant, e.GetProperty("tenant_id").GetGuid());
            Assert.Equal(user.Name, e.GetProperty("name").GetString());
        });
        var disabledAt = disabled[0].GetProperty("disabled_at").GetDateTimeOffset();
        var enabledAt = enabled[0].GetProperty("enabled_at").GetDateTimeOffset();
        Assert.True(disabledAt <= enabledAt && enabledAt <= gone[0].GetProperty("deleted_at").GetDateTimeOffset());
    }

    [Fact]
    public async Task ADeletedUserLeavesTheDirectoryAndCannotBecomeAMemberWhileTheirOldMessagesKeepTheirName()
    {
        var tenant = Guid.NewGuid();
        var (alice, asAlice) = await UserAsync(tenant);
        var (bob, asBob) = await UserAsync(tenant);
        var (carol, asCarol) = await UserAsync(tenant);
        var (dave, _) = await UserAsync(tenant);
        var privateId = await asAlice.CreateConversationAsync("private", bob.UserId);
        await asBob.SendAndGetSeqAsync(privateId, "before I go");
        var groupId = await asAlice.CreateConversationAsync("group", carol.UserId, dave.UserId);
        using var admin = await AdminAsync();

        using (var disabled = await admin.PostAsync($"/v1/admin/users/{dave.UserId}/disable", null))
        using (var deleted = await admin.DeleteAsync($"/v1/admin/users/{bob.UserId}"))
        {
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.NoContent], [disabled.StatusCode, deleted.StatusCode]);
        }

        await WaitForAsync(Topics.UserDisabled, dave.UserId);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while ((await asCarol.GetAsync($"/v1/users/{bob.UserId}")).StatusCode != HttpStatusCode.NotFound)
            {
                await Task.Delay(50, timeout.Token);
            }
        }

        var search = await asCarol.GetJsonAsync("/v1/users?limit=100");
        var listed = search.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("user_id").GetGuid()).ToList();
        Assert.DoesNotContain(bob.UserId, listed);
        Assert.Contains(dave.UserId, listed); // a disabled user is suspended, not gone: still in the directory
        Assert.Contains(alice.UserId, listed);

        using (var withBob = await asCarol.PostAsJsonAsync("/v1/conversations", new { type = "private", members = new[] { bob.UserId } }))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, withBob.StatusCode);
            var problem = await withBob.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("unknown_members", problem.GetProperty("code").GetString());
            Assert.Equal([bob.UserId], problem.GetProperty("user_ids").EnumerateArray().Select(u => u.GetGuid()));
        }

        using (var addBob = await asAlice.PostAsJsonAsync($"/v1/conversations/{groupId}/members", new { user_ids = new[] { bob.UserId } }))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, addBob.StatusCode);
        }

        var history = await asAlice.GetJsonAsync($"/v1/conversations/{privateId}/messages?expand=sender");
        var sender = history.GetProperty("messages")[0].GetProperty("sender");
        Assert.Equal((bob.UserId, bob.Name), (sender.GetProperty("user_id").GetGuid(), sender.GetProperty("name").GetString()));
    }

    private async Task<List<JsonElement>> WaitForAsync(string topic, Guid userId) =>
        await PublishedEvents.WaitForAsync(platform.Redis, platform.EventBusPrefix, topic, 1, e => e.GetProperty("user_id").GetGuid() == userId);

    private async Task<(TestUser User, HttpClient Client)> UserAsync(Guid tenant)
    {
        var user = await platform.Host.CreateUserInTenantAsync(tenant);
        return (user, await platform.CreateAuthenticatedClientAsync(user));
    }

    private async Task<HttpClient> AdminAsync() => await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));
}
