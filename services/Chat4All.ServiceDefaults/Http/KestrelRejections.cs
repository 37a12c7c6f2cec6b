using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Security;
using System.Text;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Net.Http.Headers;

namespace Chat4All.ServiceDefaults.Http;

/// <summary>
/// Problem bodies for the requests Kestrel refuses before the application sees them (a malformed
/// request line or header, a bad <c>Host</c>, headers or a target over the limits, a header timeout):
/// Kestrel writes those responses itself, with no body and no hook (docs/adr/0062, 0048). Kestrel does
/// announce each one, before writing it, on its <c>Microsoft.AspNetCore.Server.Kestrel.BadRequest</c>
/// diagnostic event; a connection middleware under every HTTP/1.x connection (inside TLS on the host's
/// https endpoints) then replaces the empty response it is about to send with a problem (status kept,
/// <c>type</c>, <c>title</c>, <c>code</c>, <c>trace_id</c>, the security headers). Requests that reached
/// the pipeline are left alone: their errors are the exception handler's.
/// </summary>
public static class KestrelRejections
{
    private const string BadRequestEvent = "Microsoft.AspNetCore.Server.Kestrel.BadRequest";

    /// <summary>Wraps every endpoint's connections and listens for Kestrel's rejections.</summary>
    public static IServiceCollection AddKestrelRejectionProblems(this IServiceCollection services)
    {
        // Endpoint defaults run before an https endpoint adds TLS: there this wrapper sees ciphertext and
        // stays idle; the host binds its https endpoints with UseRejectionProblems after UseHttps (docs/adr/0048).
        services.Configure<KestrelServerOptions>(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.UseRejectionProblems()));
        services.AddHostedService<RejectionListener>();
        return services;
    }

    /// <summary>
    /// Adds the rewriting connection middleware at this point of the endpoint's connection pipeline.
    /// Call it after <c>UseHttps</c> so that it sees the plaintext HTTP/1.x bytes; connections that
    /// negotiated HTTP/2 are left alone (its errors are resets, not responses).
    /// </summary>
    public static ListenOptions UseRejectionProblems(this ListenOptions listen)
    {
        listen.Use(next => connection => RewritingConnection.RunAsync(next, connection, listen.ApplicationServices));
        return listen;
    }

    /// <summary>Marks a request as having reached the application: from here on its errors are the pipeline's to answer.</summary>
    public static Task MarkReachedAsync(HttpContext context, RequestDelegate next)
    {
        context.Features.Set(ReachedApplication.Instance);
        return next(context);
    }

    private sealed class ReachedApplication
    {
        public static readonly ReachedApplication Instance = new();
    }

    /// <summary>Subscribes to Kestrel's diagnostic event for the whole life of the host.</summary>
    private sealed class RejectionListener(DiagnosticListener diagnostics) : IHostedService, IObserver<KeyValuePair<string, object?>>
    {
        private IDisposable? _subscription;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _subscription = diagnostics.Subscribe(this, name => name == BadRequestEvent);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            _subscription?.Dispose();
            return Task.CompletedTask;
        }

        public void OnNext(KeyValuePair<string, object?> value)
        {
            // The features are the request's, falling back to its connection's (where the rewriter sits).
            // A rewriter that sits outside TLS would write plaintext among the ciphertext: only one
            // installed inside it (or a connection without TLS) may answer.
            if (value.Key != BadRequestEvent || value.Value is not IFeatureCollection features ||
                features.Get<RewritingConnection>() is not { } connection ||
                features.Get<ReachedApplication>() is not null ||
                (features.Get<ITlsConnectionFeature>() is not null && !connection.InsideTls) ||
                features.Get<IHttpResponseFeature>()?.HasStarted != false ||
                features.Get<IBadRequestExceptionFeature>()?.Error is not Microsoft.AspNetCore.Http.BadHttpRequestException rejection)
            {
                return;
            }

            connection.Replace(rejection.StatusCode, features.Get<IHttpRequestIdentifierFeature>()?.TraceIdentifier, connection.InsideTls);
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }

    /// <summary>
    /// The connection's transport with an output that, once <see cref="Replace"/> was called, drops what
    /// Kestrel writes and sends the problem response instead, once. Until then every call passes through.
    /// </summary>
    private sealed class RewritingConnection(IDuplexPipe transport, IServiceProvider services, bool insideTls) : IDuplexPipe
    {
        private readonly RewritingWriter _output = new(transport.Output, services);

        public PipeReader Input => transport.Input;

        public PipeWriter Output => _output;

        /// <summary>Installed after TLS was negotiated, so what passes through is plaintext.</summary>
        public bool InsideTls => insideTls;

        public static async Task RunAsync(ConnectionDelegate next, ConnectionContext connection, IServiceProvider services)
        {
            var insideTls = connection.Features.Get<ITlsConnectionFeature>() is not null;
            var alpn = connection.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol ?? ReadOnlyMemory<byte>.Empty;
            if (insideTls && alpn.Span.SequenceEqual(SslApplicationProtocol.Http2.Protocol.Span))
            {
                // HTTP/2 answers its protocol errors with RST_STREAM or GOAWAY frames (RFC 9113), never an HTTP/1.1 response.
                await next(connection);
                return;
            }

            var original = connection.Transport;
            var rewriting = new RewritingConnection(original, services, insideTls);
            connection.Transport = rewriting;
            connection.Features.Set(rewriting);
            try
            {
                await next(connection);
            }
            finally
            {
                connection.Transport = original;
            }
        }

        public void Replace(int status, string? traceIdentifier, bool https) => _output.Arm(status, traceIdentifier, https);
    }

    private sealed class RewritingWriter(PipeWriter inner, IServiceProvider services) : PipeWriter
    {
        private (int Status, string? TraceIdentifier, bool Https)? _replacement;
        private bool _sent;
        private bool _lastSpanDiscarded;
        private ArrayBufferWriter<byte>? _discard;

        public void Arm(int status, string? traceIdentifier, bool https) => _replacement = (status, traceIdentifier, https);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override Memory<byte> GetMemory(int sizeHint = 0) =>
            (_lastSpanDiscarded = _replacement is not null) ? Discard(sizeHint).GetMemory(sizeHint) : inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) =>
            (_lastSpanDiscarded = _replacement is not null) ? Discard(sizeHint).GetSpan(sizeHint) : inner.GetSpan(sizeHint);

        public override void Advance(int bytes)
        {
            if (_lastSpanDiscarded)
            {
                _discard!.Advance(bytes);
            }
            else
            {
                inner.Advance(bytes);
            }
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            await SendReplacementAsync();
            return await inner.FlushAsync(cancellationToken);
        }

        public override async ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            if (_replacement is null)
            {
                return await inner.WriteAsync(source, cancellationToken);
            }

            return await FlushAsync(cancellationToken);
        }

        public override void Complete(Exception? exception = null)
        {
            if (_replacement is not null && !_sent)
            {
                // Kestrel completes the output asynchronously after a rejection; this is only a fallback.
                SendReplacementAsync().AsTask().GetAwaiter().GetResult();
            }

            inner.Complete(exception);
        }

        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            await SendReplacementAsync();
            await inner.CompleteAsync(exception);
        }

        private ArrayBufferWriter<byte> Discard(int sizeHint)
        {
            _discard ??= new ArrayBufferWriter<byte>(Math.Max(sizeHint, 1024));
            _discard.ResetWrittenCount();
            return _discard;
        }

        private async ValueTask SendReplacementAsync()
        {
            if (_replacement is not { } replacement || _sent)
            {
                return;
            }

            _sent = true;
            inner.Write(await ProblemResponse.RenderAsync(services, replacement.Status, replacement.TraceIdentifier, replacement.Https));
        }
    }

    /// <summary>A whole HTTP/1.1 response carrying the problem, written as the app's own problems are.</summary>
    private static class ProblemResponse
    {
        public static async Task<byte[]> RenderAsync(IServiceProvider services, int status, string? traceIdentifier, bool https)
        {
            var http = new DefaultHttpContext { RequestServices = services };
            http.Request.Scheme = https ? Uri.UriSchemeHttps : Uri.UriSchemeHttp; // HSTS goes on HTTPS answers
            http.TraceIdentifier = traceIdentifier ?? http.TraceIdentifier;
            using var body = new MemoryStream();
            http.Response.Body = body;
            http.Response.StatusCode = status;
            var problem = new ProblemDetails { Status = status, Title = ReasonPhrases.GetReasonPhrase(status), Detail = DetailFor(status) };
            if (!await services.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem }))
            {
                return [];
            }

            SecurityHeadersMiddleware.Apply(http);
            var headers = http.Response.Headers;
            headers.CacheControl = "no-store";
            headers.ContentLength = body.Length;
            headers.Connection = "close";
            headers.Date = DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture);
            var head = new StringBuilder();
            head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {ReasonPhrases.GetReasonPhrase(status)}\r\n");
            foreach (var (name, values) in headers)
            {
                foreach (var value in values)
                {
                    head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
                }
            }

            head.Append("\r\n");
            return [.. Encoding.ASCII.GetBytes(head.ToString()), .. body.ToArray()];
        }

        private static string DetailFor(int status) => status switch
        {
            StatusCodes.Status408RequestTimeout => "The request headers did not arrive in time.",
            StatusCodes.Status413PayloadTooLarge => "The request body is larger than the server accepts.",
            StatusCodes.Status414UriTooLong => "The request target is longer than the server accepts.",
            StatusCodes.Status431RequestHeaderFieldsTooLarge => "The request headers are larger than the server accepts.",
            StatusCodes.Status505HttpVersionNotsupported => "Only HTTP/1.0, HTTP/1.1 and HTTP/2 are served.",
            _ => "The request is malformed: its request line, a header or the Host is not valid HTTP.",
        };
    }
}
