using System.Net;
using System.Text.Json;
using Xunit;

namespace Chat4All.Testing;

public static class MessageDeliveries
{
    /// <summary>Polls <c>GET /v1/messages/{id}</c> until its deliveries satisfy <paramref name="done"/>; returns them.</summary>
    public static async Task<IReadOnlyList<JsonElement>> WaitForDeliveriesAsync(this HttpClient client, Guid messageId,
        Func<IReadOnlyList<JsonElement>, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        IReadOnlyList<JsonElement> deliveries = [];
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync($"/v1/messages/{messageId}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            deliveries = [.. (await response.ReadJsonAsync()).GetProperty("deliveries").EnumerateArray().Select(d => d.Clone())];
            if (done(deliveries))
            {
                return deliveries;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"Deliveries of {messageId} did not settle in time: {JsonSerializer.Serialize(deliveries)}");
        return deliveries;
    }
}
