using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
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

    private WebhookReceiver()
    {
    }

    public int Port { get; private set; }

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}");

    /// <summary>Status code for the n-th (1-based) request.</summary>
    public Func<int, int> Respond { get; set; } = _ => StatusCodes.Status200OK;

    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts on <paramref name="port"/> (by default a port the kernel picks as Kestrel binds);
    /// <paramref name="configure"/> may add services, e.g. the simulator itself.
    /// </summary>
    public static async Task<WebhookReceiver> StartAsync(ReservedPort? port = null, Action<WebApplicationBuilder>? configure = null)
    {
        var receiver = new WebhookReceiver();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        ListenOptions? listen = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (port is null)
            {
                kestrel.Listen(IPAddress.Loopback, 0, l => listen = l);
            }
            else
            {
                port.ListenOn(kestrel);
            }
        });
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
        receiver.Port = port?.Port ?? listen!.IPEndPoint!.Port; // Kestrel writes the bound endpoint back
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
