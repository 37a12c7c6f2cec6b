using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Chat4All.Messaging.Tests;

/// <summary>Thin wire-level helpers over the public API, as a REST consumer would call it.</summary>
internal static class MessagingApi
{
    public static async Task<Guid> CreateConversationAsync(this HttpClient client, string type, params Guid[] members)
    {
        using var response = await client.PostAsJsonAsync("/v1/conversations", new { type, members });
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.ReadJsonAsync()).GetProperty("conversation_id").GetGuid();
    }

    public static Task<HttpResponseMessage> SendTextAsync(this HttpClient client, Guid conversationId, string text, Guid? messageId = null) =>
        client.PostAsJsonAsync("/v1/messages", new { message_id = messageId, conversation_id = conversationId, payload = new { type = "text", text } });

    public static Task<HttpResponseMessage> SendFileAsync(this HttpClient client, Guid conversationId, Guid fileId, Guid? messageId = null) =>
        client.PostAsJsonAsync("/v1/messages", new { message_id = messageId, conversation_id = conversationId, payload = new { type = "file", file_id = fileId } });

    public static async Task<long> SendAndGetSeqAsync(this HttpClient client, Guid conversationId, string text)
    {
        using var response = await client.SendTextAsync(conversationId, text);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.ReadJsonAsync()).GetProperty("seq").GetInt64();
    }

    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }
}

/// <summary>Two users in a private conversation, each with an authenticated client.</summary>
internal sealed record Pair(TestUser Alice, TestUser Bob, HttpClient AsAlice, HttpClient AsBob, Guid ConversationId) : IDisposable
{
    public void Dispose()
    {
        AsAlice.Dispose();
        AsBob.Dispose();
    }
}

internal static class Pairs
{
    public static async Task<Pair> CreatePairAsync(this Chat4AllHost host)
    {
        var alice = await host.CreateUserAsync();
        var bob = await host.CreateUserAsync();
        var asAlice = await host.CreateAuthenticatedClientAsync(alice);
        var asBob = await host.CreateAuthenticatedClientAsync(bob);
        return new Pair(alice, bob, asAlice, asBob, await asAlice.CreateConversationAsync("private", bob.UserId));
    }
}

/// <summary>A platform with three users and their authenticated clients, for messaging tests.</summary>
public sealed class MessagingPlatform : PlatformFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        // Hundreds of sends per test class; the rate limiter has its own tests.
        ["Chat4All:RateLimiting:Enabled"] = "false",
        ["Chat4All:EventBus:KeyPrefix"] = "c4a-" + Guid.NewGuid().ToString("N")[..8],
    };

    public string EventBusPrefix => Settings["Chat4All:EventBus:KeyPrefix"]!;
}
