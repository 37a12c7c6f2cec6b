using System.Collections.Concurrent;
using System.Text.Json;
using Chat4All.Delivery.Connectors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Chat4All.Delivery.Tests.Subscriptions;

/// <summary>
/// An integrator's webhook receiver on Kestrel (127.0.0.1, port 0): records every attempt with its
/// Standard Webhooks headers and raw body, and answers 500 while told to fail, 204 otherwise.
/// </summary>
public sealed class SubscriberEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Attempt> _attempts = new();
    private int _failuresLeft;

    private SubscriberEndpoint(WebApplication app)
    {
        _app = app;
    }

    /// <summary>One POST as it arrived, and what the endpoint answered.</summary>
    public sealed record Attempt(string WebhookId, string Timestamp, string Signature, byte[] Body, int Answered)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;

        public string Type => Json.GetProperty("type").GetString()!;

        public JsonElement Data => Json.GetProperty("data");
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>Answers 500 to every request while true.</summary>
    public bool AlwaysFail { get; set; }

    public IReadOnlyList<Attempt> Attempts => [.. _attempts];

    /// <summary>Accepted attempts, the first per webhook-id only — what a receiver that dedupes processes, in that order.</summary>
    public IReadOnlyList<Attempt> Processed =>
        [.. _attempts.Where(a => a.Answered is >= 200 and < 300).DistinctBy(a => a.WebhookId)];

    public static async Task<SubscriberEndpoint> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var endpoint = new SubscriberEndpoint(app);
        app.MapPost("/hooks", (HttpRequest request) => endpoint.ReceiveAsync(request));
        app.MapPost("/moved", () => Results.Redirect("/hooks"));
        await app.StartAsync();
        endpoint.Url = new Uri(new Uri(app.Urls.Single()), "/hooks");
        return endpoint;
    }

    /// <summary>Answers 500 to the next <paramref name="count"/> requests.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    /// <summary>Waits (bounded) until <paramref name="done"/> holds for what was processed.</summary>
    public async Task<IReadOnlyList<Attempt>> WaitForAsync(Func<IReadOnlyList<Attempt>, bool> done, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (!done(Processed))
        {
            if (deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"Not done within {timeout}; {Attempts.Count} attempts, {Processed.Count} processed.");
            }

            await Task.Delay(50, CancellationToken.None);
        }

        return Processed;
    }

    /// <summary>Checks every attempt's signature with <paramref name="secret"/>.</summary>
    public void AssertAllSigned(string secret)
    {
        var verifier = new StandardWebhooks(secret);
        foreach (var attempt in Attempts)
        {
            var verification = verifier.Verify(attempt.WebhookId, attempt.Timestamp, attempt.Signature, attempt.Body, DateTimeOffset.UtcNow);
            Assert.True(verification.Valid, $"{attempt.WebhookId}: {verification.Error}");
        }
    }

    private async Task<IResult> ReceiveAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        var failing = AlwaysFail || Interlocked.Decrement(ref _failuresLeft) >= 0;
        var status = failing ? StatusCodes.Status500InternalServerError : StatusCodes.Status204NoContent;
        var headers = request.Headers;
        _attempts.Enqueue(new Attempt(headers[StandardWebhooks.IdHeader].ToString(), headers[StandardWebhooks.TimestampHeader].ToString(),
            headers[StandardWebhooks.SignatureHeader].ToString(), buffer.ToArray(), status));
        return Results.StatusCode(status);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
