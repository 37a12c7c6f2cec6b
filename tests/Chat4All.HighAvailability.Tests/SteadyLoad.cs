using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Chat4All.HighAvailability.Tests;

/// <summary>One message the API accepted (202), as the sending client recorded it.</summary>
internal sealed record AcceptedSend(Guid MessageId, Guid ConversationId, long Seq, string Text);

/// <summary>
/// Steady traffic through HAProxy while a fault is injected: each sender sends one message after
/// another with an Idempotency-Key, retrying every failed attempt (5xx, 429, reset, timeout) with
/// the same key until it is accepted; each receiver keeps a resuming socket open.
/// </summary>
internal sealed class SteadyLoad(IReadOnlyList<(HttpClient Sender, Guid ConversationId, ResumingSocket Socket)> lanes, TimeProvider time) : IAsyncDisposable
{
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);
    // Long enough to outlast a restart of everything; a send that still fails is a failed request.
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(150);
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(100);

    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<AcceptedSend> _accepted = new();
    private readonly ConcurrentQueue<string> _rawErrors = new();
    private readonly ConcurrentQueue<(DateTimeOffset Started, TimeSpan Took)> _slowest = new();
    private int _failedRequests;
    private Task[] _senders = [];

    public IReadOnlyList<(HttpClient Sender, Guid ConversationId, ResumingSocket Socket)> Lanes => lanes;

    public IReadOnlyCollection<AcceptedSend> Accepted => _accepted;

    public IReadOnlyCollection<string> RawErrors => _rawErrors;

    public int FailedRequests => _failedRequests;

    /// <summary>The longest time one send took from its first attempt to its acceptance: how long writes were unavailable to a retrying client.</summary>
    public TimeSpan LongestWriteUnavailability => _slowest.IsEmpty ? TimeSpan.Zero : _slowest.Max(s => s.Took);

    public void Start()
    {
        foreach (var lane in lanes)
        {
            lane.Socket.Start();
        }

        _senders = [.. lanes.Select((lane, i) => SendLoopAsync(lane.Sender, lane.ConversationId, i, _stop.Token))];
    }

    public async Task StopSendingAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_senders);
    }

    /// <summary>Waits until every socket has received every accepted message of its conversation (or the timeout passes).</summary>
    public async Task WaitForSocketsToCatchUpAsync(TimeSpan timeout)
    {
        var deadline = time.GetUtcNow() + timeout;
        while (time.GetUtcNow() < deadline && !lanes.All(l => MissingOn(l.Socket, l.ConversationId).Count == 0))
        {
            await Task.Delay(200);
        }
    }

    public IReadOnlyList<long> MissingOn(ResumingSocket socket, Guid conversationId)
    {
        var received = socket.Received.ToHashSet();
        return [.. _accepted.Where(a => a.ConversationId == conversationId && !received.Contains(a.Seq)).Select(a => a.Seq)];
    }

    private async Task SendLoopAsync(HttpClient client, Guid conversationId, int lane, CancellationToken stop)
    {
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            // The key and body stay the same on every retry of this send, as a client library keeps them.
            var key = Guid.NewGuid().ToString("N");
            var text = string.Create(CultureInfo.InvariantCulture, $"lane {lane} send {n} {key}");
            var started = time.GetUtcNow();
            while (true)
            {
                if (time.GetUtcNow() - started > GiveUpAfter)
                {
                    Interlocked.Increment(ref _failedRequests);
                    break;
                }

                using var attempt = new CancellationTokenSource(AttemptTimeout);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
                    {
                        Content = JsonContent.Create(new { conversation_id = conversationId, payload = new { type = "text", text } }),
                    };
                    request.Headers.Add("Idempotency-Key", key);
                    using var response = await client.SendAsync(request, attempt.Token);
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        var body = await response.Content.ReadFromJsonAsync<JsonElement>(attempt.Token);
                        _accepted.Enqueue(new AcceptedSend(body.GetProperty("message_id").GetGuid(), conversationId, body.GetProperty("seq").GetInt64(), text));
                        _slowest.Enqueue((started, time.GetUtcNow() - started));
                        break;
                    }

                    var status = (int)response.StatusCode;
                    _rawErrors.Enqueue(string.Create(CultureInfo.InvariantCulture, $"HTTP {status}"));
                    if (status is >= 400 and < 500 and not 408 and not 429)
                    {
                        // Refused for good: retrying the same request cannot succeed.
                        Interlocked.Increment(ref _failedRequests);
                        break;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or JsonException)
                {
                    _rawErrors.Enqueue(ex is OperationCanceledException ? "timeout" : ex.GetType().Name);
                }

                await Task.Delay(Pace, CancellationToken.None);
            }

            try
            {
                await Task.Delay(Pace, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopSendingAsync();
        }

        foreach (var lane in lanes)
        {
            await lane.Socket.DisposeAsync();
        }

        _stop.Dispose();
    }
}
