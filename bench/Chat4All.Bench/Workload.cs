using System.Text;

namespace Chat4All.Bench;

/// <summary>
/// One target under load: how to build the n-th request and how to judge its response. The same
/// scenario is built twice, once per target, with byte-identical request bodies and headers, so the
/// only difference between a chat4all row and its ceiling row is the server.
/// </summary>
internal sealed class Workload(string scenario, string target, int concurrency, Func<long, HttpRequestMessage> createRequest, bool expectAccessToken)
{
    public const string Chat4AllTarget = "chat4all";
    public const string CeilingTarget = "bare kestrel";
    public const string TokenScenario = "token issuance";
    public const string NoopScenario = "auth no-op";

    private static readonly byte[] AccessTokenProperty = "\"access_token\""u8.ToArray();

    public string Scenario => scenario;

    public string Target => target;

    public int Concurrency => concurrency;

    public HttpRequestMessage CreateRequest(long sequence) => createRequest(sequence);

    /// <summary>Returns null for a good response, otherwise a short description of what was wrong.</summary>
    public async Task<string?> CheckAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            return "HTTP " + (int)response.StatusCode + " " + response.ReasonPhrase;
        }

        if (!expectAccessToken)
        {
            return null;
        }

        // A byte search instead of a JSON parse: the client's own CPU cost must stay small and
        // identical for both targets, and a 200 without an access_token is all we need to catch.
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return body.AsSpan().IndexOf(AccessTokenProperty) >= 0 ? null : "HTTP 200 without access_token";
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
        }, expectAccessToken: true);
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
        }, expectAccessToken: false);
    }
}
