using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Chat4All.Cli.Auth;

namespace Chat4All.Cli.Api;

/// <summary>The body of a successful call, typed and as sent (for <c>--output json</c>).</summary>
public sealed record ApiResponse<T>(T Value, string Raw, HttpStatusCode Status);

/// <summary>What a cursor-paginated listing collected: the items, typed and as sent, and where it stopped.</summary>
public sealed record ApiPages<T>(List<T> Items, JsonArray Raw, string? NextCursor, bool HasMore);

/// <summary>
/// Calls <c>/v1</c> with the profile's bearer token. A 401 refreshes the token once and retries; a
/// 429 waits for <c>Retry-After</c>; unreachable hosts and 502/503/504 are retried with backoff only
/// for requests that are safe to repeat (reads, and writes carrying their own idempotency key).
/// Every other refusal becomes an <see cref="ApiException"/> carrying the problem.
/// </summary>
public sealed class ApiClient(HttpClient http, TokenProvider tokens, TextWriter notices)
{
    private const int MaxRateLimitWaits = 5;
    private const int MaxTransientRetries = 4;
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    public HttpClient Http { get; } = http;

    public TokenProvider Tokens { get; } = tokens;

    public Task<ApiResponse<T>> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, type, idempotent: true, cancellationToken);

    /// <summary>
    /// A cursor-paginated listing: <paramref name="firstPath"/>, then, when <paramref name="all"/>, each
    /// <c>next_cursor</c> through <paramref name="nextPath"/> until <c>has_more</c> is false.
    /// </summary>
    public async Task<ApiPages<TItem>> GetPagesAsync<TPage, TItem>(string firstPath, Func<string, string> nextPath, JsonTypeInfo<TPage> type,
        Func<TPage, (List<TItem> Items, string? NextCursor, bool HasMore)> read, string itemsProperty, bool all, CancellationToken cancellationToken)
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

    public Task<ApiResponse<TResponse>> PostJsonAsync<TRequest, TResponse>(string path, TRequest body, JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType, bool idempotent, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, requestType);
        return SendAsync(HttpMethod.Post, path, () => Json(bytes), responseType, idempotent, cancellationToken);
    }

    public async Task<ApiResponse<T>> SendAsync<T>(HttpMethod method, string path, Func<HttpContent>? content, JsonTypeInfo<T> type,
        bool idempotent, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, content, idempotent, HttpCompletionOption.ResponseContentRead, null, cancellationToken);
        var raw = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            var value = JsonSerializer.Deserialize(raw, type) ?? throw new JsonException("null body");
            return new ApiResponse<T>(value, raw, response.StatusCode);
        }
        catch (JsonException ex)
        {
            throw new CliException($"{method} {path} answered {(int)response.StatusCode} with a body this client does not understand: {ex.Message}", ExitCodes.Failed, ex);
        }
    }

    /// <summary>Sends and returns a successful response (the caller disposes it); refusals throw <see cref="ApiException"/>.</summary>
    public async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, Func<HttpContent>? content, bool idempotent,
        HttpCompletionOption completion, Action<HttpRequestMessage>? configure, CancellationToken cancellationToken)
    {
        var refreshed = false;
        var rateLimitWaits = 0;
        var transientRetries = 0;
        while (true)
        {
            var token = await Tokens.GetAccessTokenAsync(forceRefresh: false, cancellationToken);
            using var request = new HttpRequestMessage(method, path) { Content = content?.Invoke() };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            configure?.Invoke(request);
            HttpResponseMessage response;
            try
            {
                response = await Http.SendAsync(request, completion, cancellationToken);
            }
            catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (idempotent && transientRetries < MaxTransientRetries)
                {
                    await WaitAsync(Backoff(transientRetries++), $"{Http.BaseAddress} unreachable ({ex.Message})", cancellationToken);
                    continue;
                }

                throw Unreachable(ex);
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
                        when idempotent && transientRetries < MaxTransientRetries:
                        await WaitAsync(RetryAfter(response) ?? Backoff(transientRetries++), $"{(int)response.StatusCode} from the host", cancellationToken);
                        continue;
                }

                throw await ErrorAsync(method, path, response, cancellationToken);
            }
        }
    }

    public static async Task<ApiException> ErrorAsync(HttpMethod method, string path, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Problem? problem = null;
        OAuthError? oauth = null;
        try
        {
            if (body.TrimStart().StartsWith('{'))
            {
                using var json = JsonDocument.Parse(body);
                if (json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
                {
                    oauth = json.RootElement.Deserialize(CliJson.Default.OAuthError);
                }
                else
                {
                    problem = json.RootElement.Deserialize(CliJson.Default.Problem);
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
            problem = new Problem(null, "Unauthorized", 401, challenge.ToString(), null, "unauthorized", null, null);
        }

        return new ApiException(method, path, response.StatusCode, problem, oauth, body, RetryAfter(response));
    }

    public static CliException Unreachable(HttpRequestException ex) =>
        new($"Could not reach the Chat4All host: {ex.Message}", ExitCodes.Unavailable, ex);

    public static ByteArrayContent Json(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = Encoding.UTF8.WebName };
        return content;
    }

    private async Task WaitAsync(TimeSpan delay, string why, CancellationToken cancellationToken)
    {
        await notices.WriteLineAsync($"chat4all: {why}; retrying in {delay.TotalSeconds:0.#} s");
        await Task.Delay(delay, cancellationToken);
    }

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(500 * Math.Pow(2, attempt));

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return delay is { } d ? TimeSpan.FromTicks(Math.Clamp(d.Ticks, TimeSpan.FromMilliseconds(100).Ticks, MaxRetryAfter.Ticks)) : null;
    }
}
