using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Chat4All.Testing;

/// <summary>
/// A real HTTP endpoint on a loopback port (bound to port 0) that records every JSON body POSTed to
/// it, by path: stands in for Slack's and PagerDuty's webhooks when Alertmanager notifies.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, JsonElement Body)> _received = new();

    private WebhookReceiver(WebApplication app)
    {
        _app = app;
    }

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<(string Path, JsonElement Body)> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/{**path}", async (HttpContext context) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            receiver._received.Enqueue((context.Request.Path.Value!, body.RootElement.Clone()));
            return Results.Accepted();
        });
        await app.StartAsync();
        receiver.BaseAddress = new Uri(app.Urls.Single()); // the address Kestrel bound, port 0 resolved
        return receiver;
    }

    public Uri UrlOf(string path) => new(BaseAddress, path);

    /// <summary>Waits (bounded) for a POST to <paramref name="path"/> whose body satisfies <paramref name="match"/>.</summary>
    public async Task<JsonElement> WaitForAsync(string path, Func<JsonElement, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var (receivedPath, body) in _received)
            {
                if (receivedPath == path && match(body))
                {
                    return body;
                }
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"No matching POST to {path} within {timeout}; received: {string.Join(" | ", _received.Select(r => r.Path + " " + r.Body))}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
