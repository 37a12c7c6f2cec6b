using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Chat4All.Contracts;
using Chat4All.Contracts.Auth;

namespace Chat4All.Client;

/// <summary>The body of a successful call, typed and as sent (for callers that show the server's own JSON).</summary>
public sealed record ApiResponse<T>(T Value, string Raw, HttpStatusCode Status);

/// <summary>What a cursor-paginated listing collected: the items, typed and as sent, and where it stopped.</summary>
public sealed record ApiPages<T>(List<T> Items, JsonArray Raw, string? NextCursor, bool HasMore);

/// <summary>When a request may be sent again after a failure that leaves its outcome unknown.</summary>
public enum RetryMode
{
    /// <summary>
    /// Not repeated after a dropped connection or a 502/503/504: the server may have acted on it, and
    /// nothing would tell the repeat apart. (A 401 or 429 is still retried: those were not acted on.)
    /// </summary>
    Never,

    /// <summary>Repeating it changes nothing (reads, a chunk's same bytes, completing an upload).</summary>
    SafeToRepeat,

    /// <summary>
    /// A creation the server deduplicates by <c>Idempotency-Key</c>: one key is generated for the
    /// logical call and sent with every attempt, so a repeat is answered with the first result.
    /// </summary>
    WithIdempotencyKey,
}

/// <summary>
/// The HTTP policy of every call: the bearer token from an <see cref="IAccessTokenSource"/>; a 401
/// refreshes the token once and retries; a 429 waits for <c>Retry-After</c> (bounded); a dropped
/// connection and 502/503/504 are retried with exponential backoff (bounded) only when
/// <see cref="RetryMode"/> says a repeat is safe. Every other refusal is a <see cref="Chat4AllApiException"/>.
/// </summary>
public sealed class ApiConnection(HttpClient http, IAccessTokenSource tokens, Action<string>? notice = null)
{
    /// <summary>The header the server deduplicates creations by.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private const int MaxRateLimitWaits = 5;
    private const int MaxTransientRetries = 4;
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    /// <summary>The client the requests go through; its <c>BaseAddress</c> is the Chat4All host.</summary>
    public HttpClient Http { get; } = http;

    /// <summary>Where the bearer tokens come from.</summary>
    public IAccessTokenSource Tokens { get; } = tokens;

    /// <summary>The first backoff after a transient failure; each retry doubles it.</summary>
    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A GET, typed.</summary>
    public Task<ApiResponse<T>> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, type, RetryMode.SafeToRepeat, cancellationToken);

    /// <summary>
    /// A cursor-paginated listing: <paramref name="firstPath"/>, then, when <paramref name="all"/>, each
    /// <c>next_cursor</c> through <paramref name="nextPath"/> until <c>has_more</c> is false.
    /// </summary>
    public async Task<ApiPages<TItem>> GetPagesAsync<TPage, TItem>(string firstPath, Func<string, string> nextPath, JsonTypeInfo<TPage> type,
        Func<TPage, (IReadOnlyList<TItem> Items, string? NextCursor, bool HasMore)> read, string itemsProperty, bool all, CancellationToken cancellationToken)
    {
        var items = new List<TItem>();
        var raw = new JsonArray();
        string? cursor = null;
        bool hasMore;
        do
        {
            var page = await GetAsync(cursor is null ? firstPath : nextPath(Uri.EscapeDataString(cursor)), type, cancellationToken);
            var (pageItems, nextCursor, pageHasMore) = read(page.Value);
            items.AddRange(pageItems);
            foreach (var item in JsonNode.Parse(page.Raw)![itemsProperty]!.AsArray())
            {
                raw.Add(item?.DeepClone());
            }

            cursor = nextCursor;
            hasMore = pageHasMore;
        }
        while (all && hasMore && cursor is not null);

        return new ApiPages<TItem>(items, raw, cursor, hasMore);
    }

    /// <summary>A request with a JSON body, typed both ways.</summary>
    public Task<ApiResponse<TResponse>> SendJsonAsync<TRequest, TResponse>(HttpMethod method, string path, TRequest body, JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType, RetryMode retry, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, requestType);
        return SendAsync(method, path, () => Json(bytes), responseType, retry, cancellationToken);
    }

    /// <summary>A request whose answer is read whole and deserialized.</summary>
    public async Task<ApiResponse<T>> SendAsync<T>(HttpMethod method, string path, Func<HttpContent>? content, JsonTypeInfo<T> type,
        RetryMode retry, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, content, retry, HttpCompletionOption.ResponseContentRead, null, cancellationToken);
        var raw = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            var value = JsonSerializer.Deserialize(raw, type) ?? throw new JsonException("null body");
            return new ApiResponse<T>(value, raw, response.StatusCode);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{method} {path} answered {(int)response.StatusCode} with a body this client does not understand: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Sends and returns a successful response (the caller disposes it); refusals throw
    /// <see cref="Chat4AllApiException"/>, an unreachable host (after the retries <paramref name="retry"/>
    /// allows) <see cref="HttpRequestException"/>. <paramref name="content"/> is called once per attempt.
    /// </summary>
    public async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, Func<HttpContent>? content, RetryMode retry,
        HttpCompletionOption completion, Action<HttpRequestMessage>? configure, CancellationToken cancellationToken)
    {
        // One key for the logical call, the same on every attempt: that is what makes the repeat safe.
        var idempotencyKey = retry == RetryMode.WithIdempotencyKey ? Guid.NewGuid().ToString() : null;
        var repeatable = retry != RetryMode.Never;
        var refreshed = false;
        var rateLimitWaits = 0;
        var transientRetries = 0;
        while (true)
        {
            var token = await Tokens.GetAccessTokenAsync(forceRefresh: false, cancellationToken);
            using var request = new HttpRequestMessage(method, path) { Content = content?.Invoke() };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (idempotencyKey is not null)
            {
                request.Headers.Add(IdempotencyKeyHeader, idempotencyKey);
            }

            configure?.Invoke(request);
            HttpResponseMessage response;
            try
            {
                response = await Http.SendAsync(request, completion, cancellationToken);
            }
            catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested && repeatable && transientRetries < MaxTransientRetries)
            {
                await WaitAsync(Backoff(transientRetries++), $"{Http.BaseAddress} unreachable ({ex.Message})", cancellationToken);
                continue;
            }

            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            using (response)
            {
                switch (response.StatusCode)
                {
                    case HttpStatusCode.Unauthorized when !refreshed:
                        refreshed = true;
                        await Tokens.GetAccessTokenAsync(forceRefresh: true, cancellationToken);
                        continue;
                    case HttpStatusCode.TooManyRequests when rateLimitWaits < MaxRateLimitWaits:
                        rateLimitWaits++;
                        await WaitAsync(RetryAfter(response) ?? TimeSpan.FromSeconds(1), "rate limited (429)", cancellationToken);
                        continue;
                    case HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
                        when repeatable && transientRetries < MaxTransientRetries:
                        await WaitAsync(RetryAfter(response) ?? Backoff(transientRetries++), $"{(int)response.StatusCode} from the host", cancellationToken);
                        continue;
                }

                throw await ErrorAsync(method, path, response, cancellationToken);
            }
        }
    }

    /// <summary>The refusal a non-success response describes.</summary>
    public static async Task<Chat4AllApiException> ErrorAsync(HttpMethod method, string path, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        ApiProblem? problem = null;
        OAuthError? oauth = null;
        try
        {
            if (body.TrimStart().StartsWith('{'))
            {
                using var json = JsonDocument.Parse(body);
                if (json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
                {
                    oauth = json.RootElement.Deserialize(ContractJsonContext.Default.OAuthError);
                }
                else
                {
                    problem = json.RootElement.Deserialize(ContractJsonContext.Default.ApiProblem);
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON after all: described by status and body.
        }

        if (problem is null && oauth is null && response.StatusCode == HttpStatusCode.Unauthorized
            && response.Headers.WwwAuthenticate.FirstOrDefault() is { } challenge)
        {
            problem = new ApiProblem(null, "Unauthorized", 401, challenge.ToString(), null, "unauthorized", null, null);
        }

        return new Chat4AllApiException(method, path.StartsWith('/') ? path : "/" + path, response.StatusCode, problem, oauth, body, RetryAfter(response));
    }

    /// <summary>JSON content from serialized bytes.</summary>
    public static ByteArrayContent Json(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = Encoding.UTF8.WebName };
        return content;
    }

    private async Task WaitAsync(TimeSpan delay, string why, CancellationToken cancellationToken)
    {
        notice?.Invoke($"{why}; retrying in {delay.TotalSeconds:0.#} s");
        await Task.Delay(delay, cancellationToken);
    }

    private TimeSpan Backoff(int attempt) => FirstBackoff * Math.Pow(2, attempt);

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return delay is { } d ? TimeSpan.FromTicks(Math.Clamp(d.Ticks, TimeSpan.FromMilliseconds(100).Ticks, MaxRetryAfter.Ticks)) : null;
    }
}
