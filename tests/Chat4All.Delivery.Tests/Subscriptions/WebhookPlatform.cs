using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Delivery.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Delivery.Tests.Subscriptions;

/// <summary>
/// The platform with fast webhook retries (100 ms doubling to 400 ms), a subscription disabled after
/// 12 failures in a row, and 127.0.0.1 — where the tests' receivers listen — explicitly allow-listed:
/// without that entry loopback is refused like any other internal address.
/// </summary>
public sealed class WebhookPlatform : DeliveryPlatform
{
    public const int DisableAfter = 12;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Chat4All:Webhooks:AllowedHosts:0"] = "127.0.0.1",
        ["Chat4All:Webhooks:InitialRetryDelay"] = "00:00:00.100",
        ["Chat4All:Webhooks:MaxRetryDelay"] = "00:00:00.400",
        ["Chat4All:Webhooks:PollInterval"] = "00:00:00.050",
        ["Chat4All:Webhooks:AttemptTimeout"] = "00:00:02",
        ["Chat4All:Webhooks:ClaimDuration"] = "00:00:05",
        ["Chat4All:Webhooks:DisableAfterConsecutiveFailures"] = DisableAfter.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Points a subscription elsewhere behind the API's back, as a DNS change after subscribing would.</summary>
    public async Task RetargetAsync(Guid subscriptionId, Uri url)
    {
        await using var scope = Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DeliveryDbContext>();
        Assert.Equal(1, await db.WebhookSubscriptions.Where(s => s.Id == subscriptionId).ExecuteUpdateAsync(u => u.SetProperty(s => s.Url, url.AbsoluteUri)));
    }
}

internal static class WebhookApi
{
    public const string Subscriptions = "/v1/webhooks/subscriptions";

    public static async Task<JsonElement> SubscribeAsync(this HttpClient client, Uri url, string[] events, string? scope = null, string? secret = null)
    {
        using var response = await client.PostAsJsonAsync(Subscriptions, new { url, events, scope, secret });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.ReadJsonAsync();
    }

    public static Guid Id(this JsonElement subscription) => subscription.GetProperty("subscription_id").GetGuid();

    public static string Secret(this JsonElement subscription) => subscription.GetProperty("secret").GetString()!;

    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }
}
