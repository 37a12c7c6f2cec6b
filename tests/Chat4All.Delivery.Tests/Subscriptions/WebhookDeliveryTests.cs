using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Delivery.Tests.Subscriptions;

/// <summary>Events reach subscribers over real HTTP: signed, once in effect, in order per conversation, through failures; disabling, the log and replay.</summary>
public sealed class WebhookDeliveryTests(WebhookPlatform platform) : IClassFixture<WebhookPlatform>
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ABurstReachesTheSubscriberExactlyOnceInEffectAndInOrderPerConversationAcrossAReceiverThatFailsThenRecovers()
    {
        await using var receiver = await SubscriberEndpoint.StartAsync();
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var bob = await platform.CreateUserAsync();
        var carol = await platform.CreateUserAsync();
        var withBob = await asAlice.CreateConversationAsync("private", bob.UserId);
        var withCarol = await asAlice.CreateConversationAsync("private", carol.UserId);
        var subscription = await asAlice.SubscribeAsync(receiver.Url, [Topics.MessageCreated]);
        receiver.FailNext(8); // the first attempts get 500; the lines wait and retry, then the receiver recovers

        const int PerConversation = 15;
        for (var i = 1; i <= PerConversation; i++)
        {
            await asAlice.SendAsync(withBob, $"bob {i}");
            await asAlice.SendAsync(withCarol, $"carol {i}");
        }

        var processed = await receiver.WaitForAsync(p => p.Count >= 2 * PerConversation, Bounded);

        receiver.AssertAllSigned(subscription.Secret());
        Assert.Contains(receiver.Attempts, a => a.Answered == 500);
        Assert.All(processed, p => Assert.Equal(Topics.MessageCreated, p.Type));
        foreach (var conversation in new[] { withBob, withCarol })
        {
            var seqs = processed.Where(p => p.Data.GetProperty("conversation_id").GetGuid() == conversation)
                .Select(p => p.Data.GetProperty("seq").GetInt64()).ToList();
            Assert.Equal(Enumerable.Range(1, PerConversation).Select(i => (long)i), seqs);

            // Head of line: no attempt of a later message before the earlier one was accepted.
            var accepted = 0L;
            foreach (var attempt in receiver.Attempts.Where(a => a.Data.GetProperty("conversation_id").GetGuid() == conversation))
            {
                var seq = attempt.Data.GetProperty("seq").GetInt64();
                Assert.True(seq <= accepted + 1, $"seq {seq} was attempted while {accepted + 1} was not accepted yet");
                if (attempt.Answered is >= 200 and < 300)
                {
                    accepted = Math.Max(accepted, seq);
                }
            }
        }

        // Each event had one webhook-id, kept across its retries.
        Assert.Equal(2 * PerConversation, receiver.Attempts.Select(a => a.Json.GetProperty("id").GetGuid()).Distinct().Count());
        Assert.All(receiver.Attempts.GroupBy(a => a.Json.GetProperty("id").GetGuid()), g => Assert.Single(g.Select(a => a.WebhookId).Distinct()));
        await Task.Delay(300);
        Assert.Equal(2 * PerConversation, receiver.Processed.Count);
    }

    [Fact]
    public async Task TwoInstancesShareTheSendingWithoutBreakingTheOrderOfAConversation()
    {
        await platform.StartAnotherInstanceAsync(); // a second sender (and fan-out) over the same database and Redis
        await using var receiver = await SubscriberEndpoint.StartAsync();
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var conversation = await asAlice.CreateConversationAsync("private", (await platform.CreateUserAsync()).UserId);
        var subscription = await asAlice.SubscribeAsync(receiver.Url, [Topics.MessageCreated]);
        receiver.FailNext(4);

        const int Count = 12;
        for (var i = 1; i <= Count; i++)
        {
            await asAlice.SendAsync(conversation, $"shared {i}");
        }

        var processed = await receiver.WaitForAsync(p => p.Count >= Count, Bounded);

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), processed.Select(p => p.Data.GetProperty("seq").GetInt64()));
        var accepted = 0L;
        foreach (var attempt in receiver.Attempts)
        {
            var seq = attempt.Data.GetProperty("seq").GetInt64();
            Assert.True(seq <= accepted + 1, $"seq {seq} was attempted while {accepted + 1} was not accepted yet");
            accepted = attempt.Answered is >= 200 and < 300 ? Math.Max(accepted, seq) : accepted;
        }

        receiver.AssertAllSigned(subscription.Secret());
    }

    [Fact]
    public async Task APerUserSubscriptionGetsOnlyTheEventsOfConversationsTheUserIsIn()
    {
        await using var receiver = await SubscriberEndpoint.StartAsync();
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var bob = await platform.CreateUserAsync();
        using var asBob = await platform.CreateAuthenticatedClientAsync(bob);
        var carol = await platform.CreateUserAsync();
        var aliceAndCarol = await asAlice.CreateConversationAsync("private", carol.UserId);
        var bobAndCarol = await asBob.CreateConversationAsync("private", carol.UserId);
        await asBob.SubscribeAsync(receiver.Url, ["*"]);

        await asAlice.SendAsync(aliceAndCarol, "not for bob");
        await asBob.SendAsync(bobAndCarol, "for bob");

        var processed = await receiver.WaitForAsync(p => p.Any(a => a.Type == Topics.MessageCreated), Bounded);
        await Task.Delay(500); // anything alice's conversation would wrongly produce comes with or before it
        Assert.DoesNotContain(receiver.Attempts, a => a.Data.TryGetProperty("conversation_id", out var c) && c.GetGuid() == aliceAndCarol);
        Assert.Equal(bobAndCarol, processed.First(a => a.Type == Topics.MessageCreated).Data.GetProperty("conversation_id").GetGuid());
    }

    [Fact]
    public async Task AnEventCarryingTheNewMemberListMovesPerUserAudiencesAndTheRemovedMemberHearsOfTheChangeButNothingAfter()
    {
        await using var bobsReceiver = await SubscriberEndpoint.StartAsync();
        await using var carolsReceiver = await SubscriberEndpoint.StartAsync();
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var bob = await platform.CreateUserAsync();
        using var asBob = await platform.CreateAuthenticatedClientAsync(bob);
        var carol = await platform.CreateUserAsync();
        using var asCarol = await platform.CreateAuthenticatedClientAsync(carol);
        var bobs = await asBob.SubscribeAsync(bobsReceiver.Url, ["*"]);
        await asCarol.SubscribeAsync(carolsReceiver.Url, ["*"]);
        var conversation = await asAlice.CreateConversationAsync("group", bob.UserId, carol.UserId);
        await asAlice.SendAsync(conversation, "before bob leaves");
        await bobsReceiver.WaitForAsync(p => p.Any(a => a.Type == Topics.MessageCreated), Bounded);

        // A membership change as the membership events carry it: the conversation's whole member list afterwards.
        var change = Guid.CreateVersion7();
        var tenant = (await asAlice.GetJsonAsync("/v1/me")).GetProperty("tenant_id").GetGuid();
        await platform.Host.Services.GetRequiredService<IEventBus>().PublishAsync(new IntegrationEvent(change, Topics.ConversationCreated,
            "ConversationCreated", conversation.ToString(), JsonSerializer.Serialize(new
            {
                conversation_id = conversation, type = "group", members = new[] { alice.UserId, carol.UserId }, created_by = alice.UserId,
                created_at = DateTimeOffset.UtcNow, tenant_id = tenant,
            }), DateTimeOffset.UtcNow), CancellationToken.None);
        await bobsReceiver.WaitForAsync(p => p.Any(a => a.Json.GetProperty("id").GetGuid() == change), Bounded);
        using var read = await asCarol.PostAsJsonAsync($"/v1/conversations/{conversation}/read", new { });
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);

        await carolsReceiver.WaitForAsync(p => p.Any(a => a.Type == Topics.ConversationRead), Bounded);
        // Both subscribers' deliveries of one event come from one statement: bob's log already shows all he will get.
        var bobsLog = await asBob.GetJsonAsync($"{WebhookApi.Subscriptions}/{bobs.Id()}/deliveries?limit=100");
        Assert.DoesNotContain(bobsLog.GetProperty("items").EnumerateArray(), d => d.GetProperty("event_type").GetString() == Topics.ConversationRead);
        Assert.Contains(bobsLog.GetProperty("items").EnumerateArray(), d => d.GetProperty("event_id").GetGuid() == change);
    }

    [Fact]
    public async Task ATenantSubscriptionGetsEveryEventOfItsTenantAndNoneOfAnother()
    {
        await using var receiver = await SubscriberEndpoint.StartAsync();
        await using var otherReceiver = await SubscriberEndpoint.StartAsync();
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));
        var otherTenant = Guid.NewGuid();
        using var otherAdmin = await platform.CreateAuthenticatedClientAsync(
            await platform.Host.CreateUserInTenantAsync(otherTenant, ChatScopes.Messages, ChatScopes.Admin));
        await admin.SubscribeAsync(receiver.Url, [Topics.ConversationCreated, Topics.MessageCreated], scope: "tenant");
        var other = await otherAdmin.SubscribeAsync(otherReceiver.Url, ["*"], scope: "tenant");
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var bob = await platform.CreateUserAsync();

        var conversation = await asAlice.CreateConversationAsync("private", bob.UserId);
        await asAlice.SendAsync(conversation, "seen by our admin's integration");

        // Two topics: each arrives once; their relative order is not defined (different streams).
        var processed = await receiver.WaitForAsync(p => p.Count(a => a.Data.GetProperty("conversation_id").GetGuid() == conversation) >= 2, Bounded);
        Assert.Equal([Topics.ConversationCreated, Topics.MessageCreated],
            processed.Where(a => a.Data.GetProperty("conversation_id").GetGuid() == conversation).Select(a => a.Type).Order(StringComparer.Ordinal));
        // Both tenants' deliveries would come from the same fan-out statement: the other tenant's log has none of ours.
        var log = await otherAdmin.GetJsonAsync($"{WebhookApi.Subscriptions}/{other.Id()}/deliveries?limit=100");
        Assert.DoesNotContain(log.GetProperty("items").EnumerateArray(), d => d.GetProperty("conversation_id").ValueKind is JsonValueKind.String &&
            d.GetProperty("conversation_id").GetGuid() == conversation);
        Assert.DoesNotContain(otherReceiver.Attempts, a => a.Data.TryGetProperty("conversation_id", out var c) && c.GetGuid() == conversation);
    }

    [Fact]
    public async Task ASubscriptionThatKeepsFailingIsDisabledAndReportedAndEnablingItDeliversWhatWaited()
    {
        await using var receiver = await SubscriberEndpoint.StartAsync();
        receiver.AlwaysFail = true;
        // Counted on this host's own meters: every test host in this process has a meter of the same
        // name, and an exporter listening by name can show another host's series for this instrument.
        using var disables = HostCounter.Listen(platform.Host.Services, "chat4all.webhooks.subscriptions.disabled");
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var conversation = await asAlice.CreateConversationAsync("private", (await platform.CreateUserAsync()).UserId);
        var subscription = await asAlice.SubscribeAsync(receiver.Url, [Topics.MessageCreated]);
        var path = $"{WebhookApi.Subscriptions}/{subscription.Id()}";

        await asAlice.SendAsync(conversation, "into a broken receiver");

        var disabled = await PollAsync(() => asAlice.GetJsonAsync(path), s => s.GetProperty("status").GetString() == "disabled");
        Assert.Equal(WebhookPlatform.DisableAfter, disabled.GetProperty("consecutive_failures").GetInt32());
        Assert.Contains("http_500", disabled.GetProperty("disabled_reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.String, disabled.GetProperty("disabled_at").ValueKind);
        await PollAsync(() => Task.FromResult(disables.Total), n => n >= 1);
        var attemptsWhenDisabled = receiver.Attempts.Count;
        Assert.Equal(WebhookPlatform.DisableAfter, attemptsWhenDisabled);
        await Task.Delay(800); // several retry delays: nothing more is sent to a disabled subscription
        Assert.Equal(attemptsWhenDisabled, receiver.Attempts.Count);
        var log = await asAlice.GetJsonAsync($"{path}/deliveries");
        var waiting = Assert.Single(log.GetProperty("items").EnumerateArray());
        Assert.Equal(("pending", WebhookPlatform.DisableAfter, 500, "http_500"), (waiting.GetProperty("status").GetString(),
            waiting.GetProperty("attempts").GetInt32(), waiting.GetProperty("last_response_code").GetInt32(), waiting.GetProperty("last_error").GetString()));

        receiver.AlwaysFail = false;
        using var enable = await asAlice.PostAsync($"{path}/enable", null);
        Assert.Equal(HttpStatusCode.OK, enable.StatusCode);
        Assert.Equal("active", (await enable.ReadJsonAsync()).GetProperty("status").GetString());

        var processed = await receiver.WaitForAsync(p => p.Count == 1, Bounded);
        Assert.Equal("into a broken receiver", processed[0].Data.GetProperty("payload").GetProperty("text").GetString());
        var healthy = await PollAsync(() => asAlice.GetJsonAsync(path), s => s.GetProperty("consecutive_failures").GetInt32() == 0);
        Assert.Equal(JsonValueKind.Null, healthy.GetProperty("failing_since").ValueKind);
    }

    [Fact]
    public async Task TheDeliveryLogShowsEachDeliveryAndReplaySendsItAgainUnderTheSameWebhookId()
    {
        await using var receiver = await SubscriberEndpoint.StartAsync();
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var conversation = await asAlice.CreateConversationAsync("private", (await platform.CreateUserAsync()).UserId);
        var subscription = await asAlice.SubscribeAsync(receiver.Url, [Topics.MessageCreated]);
        var path = $"{WebhookApi.Subscriptions}/{subscription.Id()}";
        receiver.FailNext(2);

        for (var i = 1; i <= 3; i++)
        {
            await asAlice.SendAsync(conversation, $"logged {i}");
        }

        await receiver.WaitForAsync(p => p.Count == 3, Bounded);
        var firstPage = await PollAsync(() => asAlice.GetJsonAsync($"{path}/deliveries?limit=2"),
            l => l.GetProperty("items").EnumerateArray().All(d => d.GetProperty("status").GetString() == "succeeded"));
        Assert.True(firstPage.GetProperty("has_more").GetBoolean());
        var secondPage = await asAlice.GetJsonAsync($"{path}/deliveries?limit=2&cursor={firstPage.GetProperty("next_cursor").GetString()}");
        Assert.False(secondPage.GetProperty("has_more").GetBoolean());
        var log = firstPage.GetProperty("items").EnumerateArray().Concat(secondPage.GetProperty("items").EnumerateArray()).ToList();
        Assert.Equal(3, log.Count);
        var oldest = log[^1]; // newest first
        Assert.Equal(3, oldest.GetProperty("attempts").GetInt32()); // two 500s, then 204
        Assert.Equal(204, oldest.GetProperty("last_response_code").GetInt32());
        Assert.Equal("http_500", oldest.GetProperty("last_error").GetString());
        Assert.All(log, d => Assert.Equal(Topics.MessageCreated, d.GetProperty("event_type").GetString()));
        Assert.Equal([.. receiver.Processed.Select(p => p.WebhookId).Reverse()], log.Select(d => d.GetProperty("delivery_id").GetGuid().ToString()));
        using var pendingOnly = await asAlice.GetAsync($"{path}/deliveries?status=pending");
        Assert.Empty((await pendingOnly.ReadJsonAsync()).GetProperty("items").EnumerateArray());

        var replayed = oldest.GetProperty("delivery_id").GetGuid();
        using var replay = await asAlice.PostAsync($"{path}/deliveries/{replayed}/replay", null);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);

        await PollAsync(() => Task.FromResult(receiver.Attempts.Count(a => a.WebhookId == replayed.ToString() && a.Answered == 204)), n => n == 2);
        receiver.AssertAllSigned(subscription.Secret());
        Assert.Equal(3, receiver.Processed.Count); // a receiver that dedupes processes the replay once
    }

    [Fact]
    public async Task ADeliveryToAHostThatResolvesToLoopbackIsRefusedAtSendTimeAndNothingIsSent()
    {
        await using var receiver = await SubscriberEndpoint.StartAsync();
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var conversation = await asAlice.CreateConversationAsync("private", (await platform.CreateUserAsync()).UserId);
        var subscription = await asAlice.SubscribeAsync(receiver.Url, [Topics.MessageCreated]);
        // As if the name had resolved elsewhere when subscribing: "localhost" is not on the allow-list, 127.0.0.1 is.
        await platform.RetargetAsync(subscription.Id(), new UriBuilder(receiver.Url) { Host = "localhost" }.Uri);

        await asAlice.SendAsync(conversation, "must not leave");

        var log = await PollAsync(() => asAlice.GetJsonAsync($"{WebhookApi.Subscriptions}/{subscription.Id()}/deliveries"),
            l => l.GetProperty("items").EnumerateArray().Any(d => d.GetProperty("attempts").GetInt32() >= 2));
        var refused = log.GetProperty("items").EnumerateArray().Single();
        Assert.StartsWith("target_refused", refused.GetProperty("last_error").GetString(), StringComparison.Ordinal);
        Assert.Contains("loopback", refused.GetProperty("last_error").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, refused.GetProperty("last_response_code").ValueKind);
        Assert.Empty(receiver.Attempts);
    }

    [Fact]
    public async Task ARedirectIsNotFollowedButCountsAsAFailure()
    {
        await using var receiver = await SubscriberEndpoint.StartAsync();
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var conversation = await asAlice.CreateConversationAsync("private", (await platform.CreateUserAsync()).UserId);
        var subscription = await asAlice.SubscribeAsync(new Uri(receiver.Url, "/moved"), [Topics.MessageCreated]);

        await asAlice.SendAsync(conversation, "redirected");

        var log = await PollAsync(() => asAlice.GetJsonAsync($"{WebhookApi.Subscriptions}/{subscription.Id()}/deliveries"),
            l => l.GetProperty("items").EnumerateArray().Any(d => d.GetProperty("attempts").GetInt32() >= 1));
        var delivery = log.GetProperty("items").EnumerateArray().Single();
        Assert.Equal((302, "http_302"), (delivery.GetProperty("last_response_code").GetInt32(), delivery.GetProperty("last_error").GetString()));
        Assert.Empty(receiver.Attempts); // /hooks was never called
    }

    /// <summary>The sum of a Prometheus counter's series in a scrape (lines "name{labels} value [timestamp]").</summary>
    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        using var deadline = new CancellationTokenSource(Bounded);
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            Assert.False(deadline.IsCancellationRequested, $"Not reached within {Bounded}: {value}");
            await Task.Delay(50, CancellationToken.None);
        }
    }
}

/// <summary>The sum of one counter's measurements on one host's own meters (those its <see cref="IMeterFactory"/> made).</summary>
internal sealed class HostCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    private HostCounter()
    {
    }

    public long Total => Interlocked.Read(ref _total);

    public static HostCounter Listen(IServiceProvider services, string instrumentName)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        var counter = new HostCounter();
        counter._listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        counter._listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref counter._total, value));
        counter._listener.Start();
        return counter;
    }

    public void Dispose() => _listener.Dispose();
}
