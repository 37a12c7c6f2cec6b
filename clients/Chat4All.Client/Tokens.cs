using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Chat4All.Contracts;
using Chat4All.Contracts.Auth;

namespace Chat4All.Client;

/// <summary>Where a client gets the bearer token of each request.</summary>
public interface IAccessTokenSource
{
    /// <summary>
    /// A token good for the next request; <paramref name="forceRefresh"/> after the server refused
    /// the current one (a 401, a WebSocket closed with 4001).
    /// </summary>
    ValueTask<string> GetAccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken);
}

/// <summary>The OAuth 2.0 endpoints under <c>/auth</c>: token, refresh, revoke (client authentication by HTTP Basic).</summary>
public static class TokenEndpoint
{
    /// <summary>Client credentials grant: <c>POST /auth/token</c>.</summary>
    public static Task<TokenResponse> ClientCredentialsAsync(HttpClient http, Uri baseAddress, string clientId, string clientSecret,
        CancellationToken cancellationToken) =>
        RequestAsync(http, baseAddress, "auth/token", [new("grant_type", "client_credentials")], clientId, clientSecret, cancellationToken);

    /// <summary>Refresh token grant: <c>POST /auth/refresh</c> (the refresh token rotates: use the new one next time).</summary>
    public static Task<TokenResponse> RefreshAsync(HttpClient http, Uri baseAddress, string clientId, string clientSecret, string refreshToken,
        CancellationToken cancellationToken) =>
        RequestAsync(http, baseAddress, "auth/refresh", [new("grant_type", "refresh_token"), new("refresh_token", refreshToken)], clientId, clientSecret,
            cancellationToken);

    /// <summary>Revokes a refresh token (RFC 7009); an unreachable host is not an error (the token expires on its own).</summary>
    public static async Task RevokeAsync(HttpClient http, Uri baseAddress, string clientId, string clientSecret, string refreshToken,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, "auth/revoke"))
        {
            Content = new FormUrlEncodedContent([new("token", refreshToken), new("token_type_hint", "refresh_token")]),
        };
        request.Headers.Authorization = Basic(clientId, clientSecret);
        try
        {
            using var _ = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            // Unreachable: nothing to undo locally.
        }
    }

    private static async Task<TokenResponse> RequestAsync(HttpClient http, Uri baseAddress, string path, KeyValuePair<string, string>[] form,
        string clientId, string clientSecret, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = Basic(clientId, clientSecret);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await ApiConnection.ErrorAsync(HttpMethod.Post, "/" + path, response, cancellationToken);
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            return JsonSerializer.Deserialize(body, ContractJsonContext.Default.TokenResponse) is { AccessToken.Length: > 0 } token
                ? token
                : throw new Chat4AllApiException(HttpMethod.Post, "/" + path, response.StatusCode, null, new OAuthError("invalid_response", "no access_token"), body);
        }
        catch (JsonException)
        {
            throw new Chat4AllApiException(HttpMethod.Post, "/" + path, response.StatusCode, null,
                new OAuthError("invalid_response", "the body is not a token response"), body);
        }
    }

    private static AuthenticationHeaderValue Basic(string clientId, string clientSecret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(clientSecret)}")));

    /// <summary>
    /// Whether a token issued at <paramref name="issuedAt"/> and expiring at <paramref name="expiresAt"/>
    /// is still good to send: more than a quarter of its life (at most a minute) must be left, so that it
    /// does not expire in flight or between a WebSocket's upgrade and its first frames.
    /// </summary>
    public static bool IsFresh(DateTimeOffset issuedAt, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        var lifetime = expiresAt - issuedAt;
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, Math.Max(0, lifetime.Ticks / 4)));
        return expiresAt - now > margin;
    }
}

/// <summary>
/// Tokens of a confidential client, kept in memory: the cached one while it is fresh
/// (<see cref="TokenEndpoint.IsFresh"/>), else a refresh through <c>/auth/refresh</c>, or a new client
/// credentials grant when there is no refresh token or it was refused (<c>invalid_grant</c>). One renewal
/// at a time: concurrent callers wait for it and share its token, so a rotating refresh token is never
/// spent twice (a reuse would revoke its family).
/// </summary>
public sealed class ClientCredentialsTokenSource(HttpClient http, string clientId, string clientSecret, TimeProvider? time = null)
    : IAccessTokenSource, IDisposable
{
    private readonly SemaphoreSlim _renewal = new(1, 1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private volatile Issued? _current;

    /// <summary>Tokens obtained so far (the first sign-in included).</summary>
    public int TokensIssued { get; private set; }

    /// <summary>Refreshes that used the refresh token.</summary>
    public int Refreshes { get; private set; }

    public async ValueTask<string> GetAccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        var seen = _current;
        if (!forceRefresh && seen is not null && IsFresh(seen))
        {
            return seen.AccessToken;
        }

        await _renewal.WaitAsync(cancellationToken);
        try
        {
            // Someone renewed while this caller waited: theirs is the token to use.
            var current = _current;
            if (current is not null && IsFresh(current) && (!forceRefresh || !ReferenceEquals(current, seen)))
            {
                return current.AccessToken;
            }

            var renewed = await RenewAsync(current, cancellationToken);
            _current = renewed;
            TokensIssued++;
            return renewed.AccessToken;
        }
        finally
        {
            _renewal.Release();
        }
    }

    public void Dispose() => _renewal.Dispose();

    private async Task<Issued> RenewAsync(Issued? current, CancellationToken cancellationToken)
    {
        var baseAddress = http.BaseAddress ?? throw new InvalidOperationException("The HttpClient needs a BaseAddress (the Chat4All host).");
        if (current?.RefreshToken is { } refreshToken)
        {
            try
            {
                var refreshed = await TokenEndpoint.RefreshAsync(http, baseAddress, clientId, clientSecret, refreshToken, cancellationToken);
                Refreshes++;
                return ToIssued(refreshed);
            }
            catch (Chat4AllApiException ex) when (ex.OAuth?.Error == "invalid_grant")
            {
                // Expired, revoked or spent elsewhere: sign in again below.
            }
        }

        return ToIssued(await TokenEndpoint.ClientCredentialsAsync(http, baseAddress, clientId, clientSecret, cancellationToken));
    }

    private Issued ToIssued(TokenResponse token)
    {
        var now = _time.GetUtcNow();
        return new Issued(token.AccessToken, token.RefreshToken, now, now.AddSeconds(token.ExpiresIn));
    }

    private bool IsFresh(Issued token) => TokenEndpoint.IsFresh(token.IssuedAt, token.ExpiresAt, _time.GetUtcNow());

    private sealed record Issued(string AccessToken, string? RefreshToken, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);
}
