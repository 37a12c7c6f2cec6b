using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Dapr.Client.Autogen.Grpc.v1;
using Microsoft.Extensions.Logging;

namespace Chat4All.Host.Tests.Dapr;

/// <summary>One request the stand-in received: which API, the path, and the body (for gRPC: the protobuf message).</summary>
public sealed record SidecarCall(string Api, string Method, string Path, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A stand-in for daprd on loopback: its HTTP API (health, actors) on one port and its gRPC API (pub/sub,
/// state, workflows) on another, speaking HTTP/2 without TLS like the real sidecar. It records every
/// request, answers health as told, actor calls with a fixed JSON body, and every gRPC method it does not
/// model (the workflow worker's stream) with UNIMPLEMENTED, which clients retry. Pub/sub is modelled as
/// daprd with a Kafka component behaves (<see cref="DaprPubSubModel"/>): published events become CloudEvents
/// delivered to every attached app's subscriptions in partition order, retried, and dead-lettered.
/// </summary>
public sealed class FakeDaprSidecar : IAsyncDisposable
{
    private readonly ConcurrentQueue<SidecarCall> _calls = new();
    private WebApplication _app = null!;

    private readonly ConcurrentQueue<string> _startedWorkflows = new();
    private int _workflowStartsToFail;

    /// <summary>How many of the next workflow starts fail (UNAVAILABLE), as when the sidecar restarts mid-call.</summary>
    public int WorkflowStartsToFail
    {
        get => Volatile.Read(ref _workflowStartsToFail);
        set => Volatile.Write(ref _workflowStartsToFail, value);
    }

    /// <summary>Instance ids of the workflows started successfully.</summary>
    public IReadOnlyList<string> StartedWorkflows => [.. _startedWorkflows];

    /// <summary>The broker behind the <c>pubsub</c> component, shared by every app attached to this stand-in.</summary>
    public DaprPubSubModel PubSub { get; } = new();

    private FakeDaprSidecar()
    {
    }

    public int HttpPort { get; private set; }

    public int GrpcPort { get; private set; }

    public Uri HttpEndpoint => new($"http://127.0.0.1:{HttpPort}");

    public Uri GrpcEndpoint => new($"http://127.0.0.1:{GrpcPort}");

    /// <summary>What <c>/v1.0/healthz/outbound</c> answers.</summary>
    public HttpStatusCode OutboundHealth { get; set; } = HttpStatusCode.NoContent;

    /// <summary>The body of every actor method answer.</summary>
    public string ActorAnswer { get; set; } = "{}";

    public IReadOnlyList<SidecarCall> Calls => [.. _calls];

    /// <summary>The settings that point a dapr-runtime host at this sidecar, as daprd's variables would.</summary>
    public Dictionary<string, string?> HostSettings(string target) => new()
    {
        ["Chat4All:Runtime"] = "dapr",
        ["Chat4All:Targets"] = target,
        ["DAPR_HTTP_ENDPOINT"] = HttpEndpoint.ToString(),
        ["DAPR_GRPC_ENDPOINT"] = GrpcEndpoint.ToString(),
        ["APP_ID"] = target,
    };

    public static async Task<FakeDaprSidecar> StartAsync()
    {
        var sidecar = new FakeDaprSidecar();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        ListenOptions? http = null, grpc = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Port 0: the kernel picks a free port as it binds; Kestrel writes the bound endpoint back into the options.
            kestrel.Listen(IPAddress.Loopback, 0, l => { l.Protocols = HttpProtocols.Http1; http = l; });
            kestrel.Listen(IPAddress.Loopback, 0, l => { l.Protocols = HttpProtocols.Http2; grpc = l; });
        });
        sidecar._app = builder.Build();
        sidecar._app.Run(sidecar.HandleAsync);
        await sidecar._app.StartAsync();
        sidecar.HttpPort = http!.IPEndPoint!.Port;
        sidecar.GrpcPort = grpc!.IPEndPoint!.Port;
        return sidecar;
    }

    public async Task<IReadOnlyList<SidecarCall>> WaitForAsync(Func<SidecarCall, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            var found = Calls.Where(match).ToList();
            if (found.Count > 0)
            {
                return found;
            }

            await Task.Delay(50);
        }

        return [];
    }

    // StartInstanceRequest field 1 (instanceId): tag 0x0A, a varint length, UTF-8 bytes.
    private static string WorkflowInstanceId(ReadOnlySpan<byte> message)
    {
        if (message.Length < 2 || message[0] != 0x0A)
        {
            return "";
        }

        int length = 0, shift = 0, at = 1;
        while (at < message.Length)
        {
            var b = message[at++];
            length |= (b & 0x7F) << shift;
            shift += 7;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        return Encoding.UTF8.GetString(message.Slice(at, Math.Min(length, message.Length - at)));
    }

    public async ValueTask DisposeAsync()
    {
        await PubSub.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var grpc = context.Connection.LocalPort == GrpcPort;
        var bytes = body.ToArray();
        var path = context.Request.Path.Value ?? "";
        _calls.Enqueue(new SidecarCall(grpc ? "grpc" : "http", context.Request.Method, path, grpc && bytes.Length >= 5 ? bytes[5..] : bytes));

        if (grpc)
        {
            context.Response.ContentType = "application/grpc";
            if (path == "/dapr.proto.runtime.v1.Dapr/PublishEvent")
            {
                PubSub.Publish(PublishEventRequest.Parser.ParseFrom(bytes.AsSpan(5)));
                await context.Response.Body.WriteAsync(new byte[5], context.RequestAborted);
                context.Response.AppendTrailer("grpc-status", "0");
            }
            else if (path.EndsWith("/GetInstance", StringComparison.Ordinal))
            {
                // Dapr.Workflow's client (durabletask's TaskHubSidecarService, as daprd serves it): an empty
                // GetInstanceResponse is exists = false — no workflow instance with that id yet.
                await context.Response.Body.WriteAsync(new byte[5], context.RequestAborted);
                context.Response.AppendTrailer("grpc-status", "0");
            }
            else if (path.EndsWith("/StartInstance", StringComparison.Ordinal))
            {
                if (Interlocked.Decrement(ref _workflowStartsToFail) >= 0)
                {
                    context.Response.AppendTrailer("grpc-status", "14"); // UNAVAILABLE: the sidecar went away mid-call
                    context.Response.AppendTrailer("grpc-message", "the stand-in dropped this workflow start");
                    return;
                }

                _startedWorkflows.Enqueue(WorkflowInstanceId(bytes.AsSpan(5)));
                await context.Response.Body.WriteAsync(new byte[5], context.RequestAborted);
                context.Response.AppendTrailer("grpc-status", "0");
            }
            else
            {
                context.Response.AppendTrailer("grpc-status", "12");
                context.Response.AppendTrailer("grpc-message", "not implemented by the test sidecar");
            }

            return;
        }

        if (path == "/v1.0/healthz/outbound")
        {
            context.Response.StatusCode = (int)OutboundHealth;
        }
        else if (path == "/v1.0/healthz")
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }
        else if (path.StartsWith("/v1.0/actors/", StringComparison.Ordinal))
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(ActorAnswer, context.RequestAborted);
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
        }
    }
}
