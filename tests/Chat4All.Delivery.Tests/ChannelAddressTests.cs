using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;

namespace Chat4All.Delivery.Tests;

/// <summary>Users manage where they are reached; operators can do it for them; bad input changes nothing.</summary>
public sealed class ChannelAddressTests(DeliveryPlatform platform) : IClassFixture<DeliveryPlatform>
{
    [Fact]
    public async Task AUserSetsListsAndRemovesTheirChannelAddresses()
    {
        using var client = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        var number = DeliveryPlatform.UniqueAddress(Channels.WhatsApp);

        using var set = await client.PutAsJsonAsync("/v1/me/channels/WhatsApp", new { address = number });
        using var handle = await client.PutAsJsonAsync("/v1/me/channels/telegram", new { address = "@someone_" + Random.Shared.Next(1000, 9999) });
        var listed = await client.GetFromJsonAsync<JsonElement>("/v1/me/channels");
        using var removed = await client.DeleteAsync("/v1/me/channels/telegram");
        using var removedAgain = await client.DeleteAsync("/v1/me/channels/telegram");
        var after = await client.GetFromJsonAsync<JsonElement>("/v1/me/channels");

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(HttpStatusCode.OK, handle.StatusCode);
        // In the order of preference; a new address goes last.
        Assert.Equal(["whatsapp", "telegram"], listed.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("channel").GetString()));
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, removedAgain.StatusCode);
        Assert.Equal(number, after.GetProperty("items").EnumerateArray().Single().GetProperty("address").GetString());
    }

    [Fact]
    public async Task AUserReordersTheirChannelsAndTheUnnamedOnesKeepTheirPlaceAfterThem()
    {
        var (_, client) = await platform.CreateReachableUserAsync(Channels.WhatsApp, Channels.Sms, Channels.Telegram);

        using var reordered = await client.PutAsJsonAsync("/v1/me/channels/order", new { channels = new[] { "telegram" } });
        var listed = await client.GetFromJsonAsync<JsonElement>("/v1/me/channels");

        Assert.Equal(HttpStatusCode.OK, reordered.StatusCode);
        Assert.Equal(["telegram", "whatsapp", "sms"], listed.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("channel").GetString()));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[\"instagram\"]")]
    [InlineData("[\"sms\", \"sms\"]")]
    [InlineData("[\"carrier-pigeon\"]")]
    [InlineData("null")]
    public async Task AnOrderNamingChannelsWithoutAnAddressOrTwiceIsAValidationProblemAndChangesNothing(string channels)
    {
        var (_, client) = await platform.CreateReachableUserAsync(Channels.Sms, Channels.Telegram);

        using var content = new StringContent("{\"channels\": " + channels + "}", System.Text.Encoding.UTF8, "application/json");
        using var response = await client.PutAsync("/v1/me/channels/order", content);
        var listed = await client.GetFromJsonAsync<JsonElement>("/v1/me/channels");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["sms", "telegram"], listed.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("channel").GetString()));
    }

    [Theory]
    [InlineData("whatsapp", "0800 not e164")]
    [InlineData("sms", "+0123")]
    [InlineData("instagram", "has spaces in it")]
    [InlineData("telegram", "@ab")]
    [InlineData("messenger", "not-a-psid")]
    [InlineData("whatsapp", "")]
    public async Task AnAddressTheChannelCannotUseIsAValidationProblemAndIsNotStored(string channel, string address)
    {
        using var client = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());

        using var response = await client.PutAsJsonAsync($"/v1/me/channels/{channel}", new { address });
        var listed = await client.GetFromJsonAsync<JsonElement>("/v1/me/channels");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJsonAsync()).GetProperty("errors").TryGetProperty("address", out _));
        Assert.Empty(listed.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task AnAddressThatBelongsToSomeoneElseIsAConflictAndAnUnknownChannelIsNotFound()
    {
        using var first = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        using var second = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        var number = DeliveryPlatform.UniqueAddress(Channels.Sms);
        using var taken = await first.PutAsJsonAsync("/v1/me/channels/sms", new { address = number });

        using var conflict = await second.PutAsJsonAsync("/v1/me/channels/sms", new { address = number });
        using var unknown = await second.PutAsJsonAsync("/v1/me/channels/fax", new { address = number });

        Assert.Equal(HttpStatusCode.OK, taken.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("address_taken", (await conflict.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task OperatorsManageAnyUsersAddressesAndOthersMayNot()
    {
        var user = await platform.CreateUserAsync();
        using var asUser = await platform.CreateAuthenticatedClientAsync(user);
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));
        var handle = "@op_set_" + Random.Shared.Next(1000, 9999);

        using var set = await admin.PutAsJsonAsync($"/v1/admin/users/{user.UserId}/channels/instagram", new { address = handle });
        var seenByUser = await asUser.GetFromJsonAsync<JsonElement>("/v1/me/channels");
        using var forbidden = await asUser.GetAsync($"/v1/admin/users/{user.UserId}/channels");

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(handle, seenByUser.GetProperty("items").EnumerateArray().Single().GetProperty("address").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }
}
