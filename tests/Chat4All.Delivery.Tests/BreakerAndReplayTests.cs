using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;
using Chat4All.Delivery.Deliveries;
using Chat4All.Delivery.Simulator;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Delivery.Tests;

/// <summary>A channel that is down opens its breaker and dead-letters; operators replay once it is back.</summary>
public sealed class BreakerAndReplayTests(DeliveryPlatform platform) : IClassFixture<DeliveryPlatform>
{
    [Fact]
    public async Task AChannelThatKeepsFailingOpensItsBreakerDeadLettersWithReasonsAndReplayDeliversAfterRecovery()
    {
        var simulator = platform.Host.Services.GetRequiredService<ChannelSimulator>();
        var breaker = platform.Host.Services.GetRequiredService<DeliveryMetrics>().Breaker(Channels.Instagram);
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Instagram);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));
        await simulator.SetOutageAsync(Channels.Instagram, true);

        var messageIds = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            messageIds.Add(await asSender.SendAsync(conversationId, $"into the void {i}", [Channels.Instagram]));
        }

        foreach (var messageId in messageIds)
        {
            await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Failed);
        }

        Assert.NotEqual(CircuitState.Closed, breaker.State);
        var deadLetters = (await admin.GetFromJsonAsync<JsonElement>("/v1/admin/deliveries/dead-letters?channel=instagram&limit=100"))
            .GetProperty("items").EnumerateArray().Where(d => messageIds.Contains(d.GetProperty("message_id").GetGuid())).ToList();
        Assert.Equal(5, deadLetters.Count);
        Assert.All(deadLetters, d => Assert.Equal(4, d.GetProperty("attempts").GetInt32()));
        var reasons = deadLetters.Select(d => d.GetProperty("reason").GetString()!).ToList();
        Assert.All(reasons, r => Assert.Matches("provider_unavailable|circuit_open", r));
        Assert.Contains(reasons, r => r.Contains("circuit_open", StringComparison.Ordinal));

        await simulator.SetOutageAsync(Channels.Instagram, false);
        foreach (var deadLetter in deadLetters)
        {
            using var replay = await admin.PostAsync($"/v1/admin/deliveries/dead-letters/{deadLetter.GetProperty("delivery_id").GetGuid()}/replay", null);
            Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        }

        foreach (var messageId in messageIds)
        {
            await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Delivered);
        }

        Assert.Equal(CircuitState.Closed, breaker.State);
        var open = (await admin.GetFromJsonAsync<JsonElement>("/v1/admin/deliveries/dead-letters?channel=instagram&limit=100"))
            .GetProperty("items").EnumerateArray().Where(d => messageIds.Contains(d.GetProperty("message_id").GetGuid()));
        Assert.Empty(open);
        using var again = await admin.PostAsync($"/v1/admin/deliveries/dead-letters/{deadLetters[0].GetProperty("delivery_id").GetGuid()}/replay", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task DeadLettersAreForAdminsOnly()
    {
        using var user = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());

        using var list = await user.GetAsync("/v1/admin/deliveries/dead-letters");
        using var replay = await user.PostAsync($"/v1/admin/deliveries/dead-letters/{Guid.NewGuid()}/replay", null);

        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, replay.StatusCode);
    }

    [Fact]
    public async Task ReplayingAnUnknownDeadLetterIsNotFoundAndABadCursorIsAValidationProblem()
    {
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));

        using var replay = await admin.PostAsync($"/v1/admin/deliveries/dead-letters/{Guid.NewGuid()}/replay", null);
        using var list = await admin.GetAsync("/v1/admin/deliveries/dead-letters?cursor=not-a-cursor");

        Assert.Equal(HttpStatusCode.NotFound, replay.StatusCode);
        Assert.Equal("dead_letter_not_found", (await replay.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, list.StatusCode);
    }
}
