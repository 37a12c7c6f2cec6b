using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using OpenTelemetry.Trace;

namespace Chat4All.Messaging.Tests;

/// <summary>
/// One trace per message across the bus, as the host's own tracer provider exports it (the
/// in-memory exporter added next to its real configuration): the request, a producer span for the
/// outbox publish, and consumer spans in delivery and realtime parented to that publish. It runs
/// alone: every in-process host's activity sources feed this host's exporter, and on a loaded run
/// the other classes' hosts delayed its consumers past the wait.
/// </summary>
[Collection(Collection)]
public sealed class MessageTraceTests : IAsyncLifetime
{
    public const string Collection = "message trace (alone)";

    private readonly TemporaryDirectory _data = new();
    private readonly ExportedSpans _spans = new();
    private TestDatabase _database = null!;
    private Chat4AllHost _host = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _host = await new Chat4AllHost(_database.ConnectionString, await TestInfrastructure.RedisConnectionStringAsync(), _data.Path,
            new Dictionary<string, string?>
            {
                ["Chat4All:EventBus:KeyPrefix"] = "c4a-trace-" + Guid.NewGuid().ToString("N")[..8],
                ["Chat4All:RateLimiting:Enabled"] = "false",
                ["Chat4All:Tracing:SampleRatio"] = "1",
            },
            services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans))).StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _database.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task ASentMessageIsOneTraceFromTheRequestThroughTheBusToTheProviderCallItsWebhookAndTheSocketHandOff()
    {
        var alice = await _host.CreateUserAsync();
        var bob = await _host.CreateUserAsync();
        using var asAlice = await _host.CreateAuthenticatedClientAsync(alice);
        using var asBob = await _host.CreateAuthenticatedClientAsync(bob);
        using (var address = await asBob.PutAsJsonAsync("/v1/me/channels/sms", new { address = "+1444" + Random.Shared.NextInt64(1_000_000_000L, 9_999_999_999L) }))
        {
            Assert.Equal(HttpStatusCode.OK, address.StatusCode);
        }

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", asBob.DefaultRequestHeaders.Authorization!.ToString());
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{_host.Port}/ws"), CancellationToken.None);
        var conversationId = await asAlice.CreateConversationAsync("private", bob.UserId);
        using var sent = await asAlice.SendTextAsync(conversationId, "trace me");
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var messageId = JsonDocument.Parse(await sent.Content.ReadAsStringAsync()).RootElement.GetProperty("message_id").GetGuid();

        var request = await WaitForSpanAsync(s => s.Kind == ActivityKind.Server && s.OperationName == "Microsoft.AspNetCore.Hosting.HttpRequestIn" &&
            (string?)s.GetTagItem("http.request.method") == "POST" && (string?)s.GetTagItem("url.path") == "/v1/messages");
        var publish = await WaitForSpanAsync(s => s.Kind == ActivityKind.Producer && s.DisplayName == "message.created publish" && s.TraceId == request.TraceId);
        var delivery = await WaitForSpanAsync(s => IsConsumer(s, request.TraceId, "delivery"));
        var realtime = await WaitForSpanAsync(s => IsConsumer(s, request.TraceId, "realtime"));

        Assert.Equal(request.SpanId, publish.ParentSpanId);
        Assert.Equal(publish.SpanId, delivery.ParentSpanId);
        Assert.Equal(publish.SpanId, realtime.ParentSpanId);
        Assert.NotEqual(Guid.Empty, messageId);

        // The delivery the router created continues the trace: the attempt, the provider call in it,
        // and the provider's delivered webhook, which arrives as a request of its own and is linked.
        var attempt = await WaitForSpanAsync(s => s.DisplayName == "delivery attempt" && s.TraceId == request.TraceId);
        var call = await WaitForSpanAsync(s => s.Kind == ActivityKind.Client && s.DisplayName == "sms send" && s.TraceId == request.TraceId);
        var report = await WaitForSpanAsync(s => s.DisplayName == "sms report delivered" && s.TraceId == request.TraceId);
        Assert.Equal(delivery.SpanId, attempt.ParentSpanId);
        Assert.Equal(attempt.SpanId, call.ParentSpanId);
        Assert.Equal(delivery.SpanId, report.ParentSpanId);
        var webhook = _spans.Snapshot().Single(s => s.Kind == ActivityKind.Server && ((string?)s.GetTagItem("url.path"))?.StartsWith("/v1/webhooks/sms", StringComparison.Ordinal) == true &&
            report.Links.Any(l => l.Context.SpanId == s.SpanId));
        Assert.NotEqual(request.TraceId, webhook.TraceId);

        // The status events written under those spans reach messaging's receipts in the same trace
        // (as parent, or as a link of a batch), and the frame's hand-off to bob's socket is in it too.
        await WaitForSpanAsync(s => s.Kind == ActivityKind.Consumer && s.DisplayName == "message.status_changed process" &&
            (string?)s.GetTagItem("messaging.consumer.group.name") == "messaging" &&
            (s.TraceId == request.TraceId || s.Links.Any(l => l.Context.TraceId == request.TraceId)));
        var handOff = await WaitForSpanAsync(s => s.DisplayName == "ws send" && s.ParentSpanId == realtime.SpanId);
        Assert.Equal(request.TraceId, handOff.TraceId);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    private static bool IsConsumer(Activity span, ActivityTraceId traceId, string group) =>
        span.Kind == ActivityKind.Consumer && span.TraceId == traceId && span.DisplayName == "message.created process" &&
        (string?)span.GetTagItem("messaging.consumer.group.name") == group;

    private async Task<Activity> WaitForSpanAsync(Func<Activity, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_spans.Snapshot().FirstOrDefault(match) is { } span)
            {
                return span;
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException("No such span among: " +
            string.Join(", ", _spans.Snapshot().Where(s => s.Kind != ActivityKind.Client).Select(s => $"{s.Kind} {s.OperationName} {s.DisplayName} {s.GetTagItem("url.path")} {s.TraceId}/{s.ParentSpanId}")));
    }

    /// <summary>The exporter adds from the SDK's thread while the test reads.</summary>
    private sealed class ExportedSpans : System.Collections.ObjectModel.Collection<Activity>
    {
        private readonly Lock _gate = new();

        public List<Activity> Snapshot()
        {
            lock (_gate)
            {
                return [.. Items];
            }
        }

        protected override void InsertItem(int index, Activity item)
        {
            lock (_gate)
            {
                base.InsertItem(index, item);
            }
        }
    }
}

[CollectionDefinition(MessageTraceTests.Collection, DisableParallelization = true)]
public sealed class MessageTraceRunsAlone;
