using System.Net;

namespace Chat4All.Bench;

/// <summary>
/// The host throttled the bench (a 429), or announced that it will (a <c>RateLimit-Policy</c> header).
/// The per-user budget (60 state-changing requests a minute by default) is far below what a load test
/// sends, so a throttled run would measure the limiter; the bench stops and says how to turn it off.
/// </summary>
internal sealed class RateLimitedException(string message) : Exception(message)
{
    public const string Remedy =
        "The per-user rate limit (60 state-changing requests/min by default) throttles the messages bench. " +
        "Restart the host with rate limiting off: Chat4All__RateLimiting__Enabled=false scripts/run.sh";

    public RateLimitedException()
        : this(Remedy)
    {
    }

    public RateLimitedException(string message, Exception innerException)
        : this(message + " " + innerException.Message)
    {
    }

    public static RateLimitedException From(HttpResponseMessage response)
    {
        var request = response.RequestMessage is { } sent ? sent.Method + " " + sent.RequestUri?.AbsolutePath : "a request";
        var retryAfter = response.Headers.RetryAfter?.Delta is { } delta ? $", Retry-After {delta.TotalSeconds:0} s" : string.Empty;
        return new RateLimitedException(
            $"{request} answered {(int)HttpStatusCode.TooManyRequests} Too Many Requests{retryAfter}{Policy(response)}. {Remedy}");
    }

    /// <summary>Thrown for a success that carries <c>RateLimit-Policy</c>: the limiter is on and will throttle soon.</summary>
    public static RateLimitedException Announced(HttpResponseMessage response) =>
        new($"Rate limiting is enabled on the host{Policy(response)}. {Remedy}");

    public static bool IsAnnounced(HttpResponseMessage response) => response.Headers.Contains(PolicyHeader);

    private const string PolicyHeader = "RateLimit-Policy";

    private static string Policy(HttpResponseMessage response) =>
        response.Headers.TryGetValues(PolicyHeader, out var values) ? $" ({PolicyHeader}: {string.Join(", ", values)})" : string.Empty;
}
