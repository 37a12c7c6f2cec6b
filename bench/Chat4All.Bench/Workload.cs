using System.Net;
using System.Text;

namespace Chat4All.Bench;

/// <summary>
/// One target under load: how to build the n-th request and how to judge its response. The same
/// scenario is built twice, once per target, with byte-identical request bodies and headers, so the
/// only difference between a chat4all row and its ceiling row is the server.
/// </summary>
internal sealed class Workload(
    string scenario,
    string target,
    int concurrency,
    Func<long, HttpRequestMessage> createRequest,
    HttpStatusCode? requiredStatus,
    byte[]? requiredBodyMarker,
    string? missingMarkerError)
{
    public const string Chat4AllTarget = "chat4all";
    public const string CeilingTarget = "bare kestrel";
    public const string TokenScenario = "token issuance";
    public const string NoopScenario = "auth no-op";
    public const string MessagesScenario = "messages";

    private static readonly byte[] AccessTokenProperty = "\"access_token\""u8.ToArray();

    // The 202 body is {"status":"accepted",...}; the value alone is enough to tell it from a problem body.
    private static readonly byte[] AcceptedStatus = "\"accepted\""u8.ToArray();

    public string Scenario => scenario;

    public string Target => target;

    public int Concurrency => concurrency;

    public HttpRequestMessage CreateRequest(long sequence) => createRequest(sequence);

    /// <summary>
    /// Returns null for a good response, otherwise a short description of what was wrong. A 429 throws
    /// <see cref="RateLimitedException"/> instead: a throttled run measures the rate limit, not the
    /// platform, so it must stop rather than fill the table with errors.
    /// </summary>
    public async Task<string?> CheckAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            throw RateLimitedException.From(response);
        }

        if (requiredStatus is { } status ? response.StatusCode != status : !response.IsSuccessStatusCode)
        {
            return "HTTP " + (int)response.StatusCode + " " + response.ReasonPhrase;
        }

        if (requiredBodyMarker is null)
        {
            return null;
        }

        // A byte search instead of a JSON parse: the client's own CPU cost must stay small and
        // identical for both targets, and a success without the marker is all we need to catch.
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return body.AsSpan().IndexOf(requiredBodyMarker) >= 0 ? null : missingMarkerError;
    }

    /// <summary><c>POST auth/token</c> (or the ceiling's <c>POST token</c>) rotating over the demo users.</summary>
    public static Workload TokenIssuance(string target, Uri baseAddress, string path, int concurrency, IReadOnlyList<DemoUser> users)
    {
        var uri = new Uri(baseAddress, path);
        var bodies = users
            .Select(u => Encoding.UTF8.GetBytes(
                "grant_type=client_credentials&client_id=" + Uri.EscapeDataString(u.ClientId) +
                "&client_secret=" + Uri.EscapeDataString(u.ClientSecret)))
            .ToArray();
        return new Workload(TokenScenario, target, concurrency, sequence =>
        {
            var content = new ByteArrayContent(bodies[sequence % bodies.Length]);
            content.Headers.TryAddWithoutValidation("Content-Type", "application/x-www-form-urlencoded");
            return new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
        }, requiredStatus: null, AccessTokenProperty, "HTTP 200 without access_token");
    }

    /// <summary><c>GET v1/me</c> (or the ceiling's <c>GET me</c>) with one pre-fetched bearer token per demo user.</summary>
    public static Workload AuthenticatedNoop(string target, Uri baseAddress, string path, int concurrency, IReadOnlyList<string> accessTokens)
    {
        var uri = new Uri(baseAddress, path);
        var authorizations = accessTokens.Select(t => "Bearer " + t).ToArray();
        return new Workload(NoopScenario, target, concurrency, sequence =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.TryAddWithoutValidation("Authorization", authorizations[sequence % authorizations.Length]);
            return request;
        }, requiredStatus: null, requiredBodyMarker: null, missingMarkerError: null);
    }

    /// <summary>
    /// <c>POST v1/messages</c>, rotating over the conversations and, within each, over its members as
    /// senders, so the load spreads over every conversation's row lock and every user. Needs a 202
    /// whose body says <c>accepted</c>. Each request is a new message: no <c>message_id</c> or
    /// <c>Idempotency-Key</c>, so the server assigns the id and nothing is a replay.
    /// </summary>
    public static Workload SendMessage(string target, Uri baseAddress, int concurrency, IReadOnlyList<BenchConversation> conversations, IReadOnlyList<string> accessTokens)
    {
        var uri = new Uri(baseAddress, Chat4AllApi.MessagesPath);
        var bodies = conversations.Select(c => Chat4AllApi.MessageBody(c.ConversationId)).ToArray();
        var senders = conversations
            .Select(c => c.MemberIndexes.Select(m => "Bearer " + accessTokens[m]).ToArray())
            .ToArray();
        return new Workload(MessagesScenario, target, concurrency, sequence =>
        {
            var conversation = (int)(sequence % bodies.Length);
            var members = senders[conversation];
            var content = new ByteArrayContent(bodies[conversation]);
            content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
            request.Headers.TryAddWithoutValidation("Authorization", members[sequence / bodies.Length % members.Length]);
            return request;
        }, HttpStatusCode.Accepted, AcceptedStatus, "HTTP 202 without status \"accepted\"");
    }
}
