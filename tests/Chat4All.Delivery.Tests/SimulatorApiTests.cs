using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;

namespace Chat4All.Delivery.Tests;

/// <summary>Operators drive the simulated providers over HTTP: outages and contacts writing in.</summary>
public sealed class SimulatorApiTests(DeliveryPlatform platform) : IClassFixture<DeliveryPlatform>
{
    [Fact]
    public async Task AnOperatorTakesAChannelDownAndBringsItBack()
    {
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));

        using var down = await admin.PutAsJsonAsync("/v1/admin/simulator/channels/telegram/outage", new { down = true });
        var whileDown = await admin.GetFromJsonAsync<JsonElement>("/v1/admin/simulator/channels");
        using var up = await admin.PutAsJsonAsync("/v1/admin/simulator/channels/telegram/outage", new { down = false });
        var afterwards = await admin.GetFromJsonAsync<JsonElement>("/v1/admin/simulator/channels");

        Assert.Equal(HttpStatusCode.OK, down.StatusCode);
        Assert.True(Telegram(whileDown).GetProperty("outage").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, up.StatusCode);
        Assert.False(Telegram(afterwards).GetProperty("outage").GetBoolean());
    }

    [Fact]
    public async Task SimulatorControlsAreForAdminsOnlyAndCheckTheirInput()
    {
        using var user = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));

        using var forbidden = await user.PutAsJsonAsync("/v1/admin/simulator/channels/sms/outage", new { down = true });
        using var unknown = await admin.PutAsJsonAsync("/v1/admin/simulator/channels/fax/outage", new { down = true });
        using var empty = await admin.PostAsJsonAsync("/v1/admin/simulator/channels/sms/inbound", new { from = "", text = "" });
        using var accepted = await admin.PostAsJsonAsync("/v1/admin/simulator/channels/sms/inbound", new { from = "+14445550000", text = "hello?" });

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        var errors = (await empty.ReadJsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("from", out _) && errors.TryGetProperty("text", out _));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.False(string.IsNullOrEmpty((await accepted.ReadJsonAsync()).GetProperty("provider_message_id").GetString()));
    }

    private static JsonElement Telegram(JsonElement channels) =>
        channels.EnumerateArray().Single(c => c.GetProperty("channel").GetString() == Channels.Telegram);
}
