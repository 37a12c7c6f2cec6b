using System.Collections.Concurrent;
using System.Net;

namespace Chat4All.Clients.Tests;

/// <summary>
/// Sits between the SDK and the real host: records every exchange, and can lose the answer to one
/// request after the server has handled it — the connection dropped on the way back, as a client sees it.
/// </summary>
internal sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private Func<HttpRequestMessage, bool>? _dropAnswerOf;

    public ConcurrentQueue<Exchange> Exchanges { get; } = new();

    /// <summary>The next request matching <paramref name="match"/> reaches the server, but its answer is lost.</summary>
    public void DropTheAnswerOnce(Func<HttpRequestMessage, bool> match) => _dropAnswerOf = match;

    /// <summary>Rewrites the body of answers to matching requests (a corrupting middlebox).</summary>
    public Func<HttpRequestMessage, byte[], byte[]>? RewriteBody { get; set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var key = request.Headers.TryGetValues("Idempotency-Key", out var keys) ? keys.Single() : null;
        var response = await base.SendAsync(request, cancellationToken);
        var dropped = _dropAnswerOf is { } match && match(request) && Interlocked.CompareExchange(ref _dropAnswerOf, null, match) == match;
        Exchanges.Enqueue(new Exchange(request.Method, request.RequestUri!.AbsolutePath, key, response.StatusCode, dropped));
        if (dropped)
        {
            response.Dispose();
            throw new HttpRequestException("The connection was reset (injected by the test after the server answered).");
        }

        if (RewriteBody is { } rewrite && response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var content = new ByteArrayContent(rewrite(request, body));
            foreach (var header in response.Content.Headers.Where(h => h.Key != "Content-Length"))
            {
                content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Content = content;
        }

        return response;
    }

    public sealed record Exchange(HttpMethod Method, string Path, string? IdempotencyKey, HttpStatusCode Status, bool AnswerDropped);
}
