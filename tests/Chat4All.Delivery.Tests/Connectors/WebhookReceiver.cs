using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Chat4All.Delivery.Tests.Connectors;

/// <summary>One webhook POST as the receiver saw it.</summary>
public sealed record ReceivedWebhook(string Channel, IHeaderDictionary Headers, byte[] Body, string? ContentType);

/// <summary>
/// A minimal web application on Kestrel on 127.0.0.1 that records every POST to
/// <c>/v1/webhooks/{channel}</c> and answers with <see cref="Respond"/>'s status code (200 by default).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private WebApplication _app = null!;

    private WebhookReceiver(int port) => Port = port;

    public int Port { get; }

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}");

    /// <summary>Status code for the n-th (1-based) request.</summary>
    public Func<int, int> Respond { get; set; } = _ => StatusCodes.Status200OK;

    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts on <paramref name="port"/> (a free one by default); <paramref name="configure"/> may add services, e.g. the simulator itself.</summary>
    public static async Task<WebhookReceiver> StartAsync(int? port = null, Action<WebApplicationBuilder>? configure = null)
    {
        var receiver = new WebhookReceiver(port ?? HostPorts.Free());
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(receiver.BaseUrl.ToString());
        configure?.Invoke(builder);
        receiver._app = builder.Build();
        var requests = 0;
        receiver._app.MapPost("/v1/webhooks/{channel}", async (string channel, HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var headers = new HeaderDictionary(request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
            receiver._received.Enqueue(new ReceivedWebhook(channel, headers, buffer.ToArray(), request.ContentType));
            return Results.StatusCode(receiver.Respond(Interlocked.Increment(ref requests)));
        });
        await receiver._app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
