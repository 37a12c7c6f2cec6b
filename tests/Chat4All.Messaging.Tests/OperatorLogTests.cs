using System.Net;
using System.Text.Json;

namespace Chat4All.Messaging.Tests;

/// <summary>
/// The host's JSON log lines, read from a real host process' stdout as an operator's log shipper
/// would: request lines name the caller and the conversation or message they concern.
/// </summary>
public sealed class OperatorLogTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private TestDatabase _database = null!;
    private string _redis = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _redis = await TestInfrastructure.RedisConnectionStringAsync();
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _data.Dispose();
    }

    private Dictionary<string, string> Environment
    {
        get
        {
            var environment = HostProcess.Environment(_database.ConnectionString, _redis, _data.Path, HostProcess.KeyPrefix("logs"));
            environment["Chat4All__RateLimiting__Enabled"] = "false";
            environment["Chat4All__Delivery__Channels__sms__UnreachablePattern"] = @"^\+1555099";
            return environment;
        }
    }

    [Fact]
    public async Task RequestLinesNameTheCallerAndTheMessageOrConversationTheyConcern()
    {
        var environment = Environment;
        Assert.Equal(0, (await HostProcess.RunAsync(environment, "migrate")).ExitCode);
        var alice = await HostProcess.CreateUserAsync(environment);
        var bob = await HostProcess.CreateUserAsync(environment);
        using var host = HostProcess.Start(environment, "--urls", HostProcess.AnyLoopbackPort);
        using var asAlice = await host.CreateAuthenticatedClientAsync(alice);

        var conversationId = await asAlice.CreateConversationAsync("private", bob.UserId);
        using var sent = await asAlice.SendTextAsync(conversationId, "hello");
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var messageId = JsonDocument.Parse(await sent.Content.ReadAsStringAsync()).RootElement.GetProperty("message_id").GetGuid();
        (await asAlice.GetAsync($"/v1/messages/{messageId}")).Dispose();
        (await asAlice.GetAsync($"/v1/conversations/{conversationId}/messages")).Dispose();

        var messageLine = await WaitForLineAsync(host, line => Field(line, "RequestPath") == $"/v1/messages/{messageId}");
        Assert.Equal(alice.UserId.ToString(), Field(messageLine, "user_id"));
        Assert.Equal(messageId.ToString(), Field(messageLine, "message_id"));
        Assert.Equal(32, Field(messageLine, "trace_id")?.Length);

        var historyLine = await WaitForLineAsync(host, line => Field(line, "RequestPath") == $"/v1/conversations/{conversationId}/messages");
        Assert.Equal(alice.UserId.ToString(), Field(historyLine, "user_id"));
        Assert.Equal(conversationId.ToString(), Field(historyLine, "conversation_id"));

        // No line carries the caller's secret or token.
        Assert.DoesNotContain(alice.ClientSecret, host.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADeadLetteredDeliveryAndItsReplayAreAuditEvents()
    {
        var environment = Environment;
        Assert.Equal(0, (await HostProcess.RunAsync(environment, "migrate")).ExitCode);
        var alice = await HostProcess.CreateUserAsync(environment);
        var bob = await HostProcess.CreateUserAsync(environment);
        var admin = await HostProcess.CreateUserAsync(environment, "admin");
        using var host = HostProcess.Start(environment, "--urls", HostProcess.AnyLoopbackPort);
        using var asAlice = await host.CreateAuthenticatedClientAsync(alice);
        using var asBob = await host.CreateAuthenticatedClientAsync(bob);
        using var asAdmin = await host.CreateAuthenticatedClientAsync(admin);
        using (var unreachable = await asBob.PutAsync("/v1/me/channels/sms",
                   new StringContent("{\"address\":\"+15550991234\"}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, unreachable.StatusCode);
        }

        var conversationId = await asAlice.CreateConversationAsync("private", bob.UserId);
        using var sent = await asAlice.PostAsync("/v1/messages", new StringContent(
            $"{{\"conversation_id\":\"{conversationId}\",\"payload\":{{\"type\":\"text\",\"text\":\"nobody home\"}},\"channels\":[\"sms\"]}}",
            System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var messageId = JsonDocument.Parse(await sent.Content.ReadAsStringAsync()).RootElement.GetProperty("message_id").GetGuid();

        var deadLettered = await WaitForLineAsync(host, line => AuditEvent(line) == "dlq.delivery_dead_lettered" && Field(line, "MessageId") == messageId.ToString());
        Assert.Equal(bob.UserId.ToString(), Field(deadLettered, "RecipientId"));
        Assert.Equal("sms", Field(deadLettered, "Channel"));
        Assert.Contains("recipient_unknown", Field(deadLettered, "Reason"), StringComparison.Ordinal);

        var deliveryId = Field(deadLettered, "DeliveryId");
        using (var replay = await asAdmin.PostAsync($"/v1/admin/deliveries/dead-letters/{deliveryId}/replay", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        }

        var replayed = await WaitForLineAsync(host, line => AuditEvent(line) == "dlq.delivery_replayed" && Field(line, "DeliveryId") == deliveryId);
        Assert.Equal(admin.UserId.ToString(), Field(replayed, "Actor"));
        Assert.Equal(messageId.ToString(), Field(replayed, "MessageId"));
    }

    private static string? AuditEvent(JsonElement line) =>
        Field(line, "category") == "Chat4All.Audit" && line.TryGetProperty("EventId", out var id) && id.TryGetProperty("Name", out var name)
            ? name.GetString()
            : null;

    private static string? Field(JsonElement line, string name) =>
        line.TryGetProperty(name, out var value) ? value.ToString() : null;

    private static async Task<JsonElement> WaitForLineAsync(HostProcess host, Func<JsonElement, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var text in host.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (text.StartsWith('{'))
                {
                    using var document = JsonDocument.Parse(text);
                    if (match(document.RootElement))
                    {
                        return document.RootElement.Clone();
                    }
                }
            }

            await Task.Delay(200);
        }

        throw new Xunit.Sdk.XunitException("No such log line in: " + host.StandardOutput[^Math.Min(4000, host.StandardOutput.Length)..]);
    }
}
