using System.Net;
using System.Text;
using System.Text.Json;
using Chat4All.Cli.Api;

namespace Chat4All.Cli.Auth;

/// <summary>
/// Access tokens for the profile: the cached one while it has more than a margin left (a quarter of
/// its lifetime, at most a minute), otherwise a refresh through <c>/auth/refresh</c> under the
/// profile's lock (re-reading the file first: another process may have refreshed already). A refresh
/// token that is refused (expired, revoked, or spent by someone else) falls back to signing in again
/// with the stored client credentials.
/// </summary>
public sealed class TokenProvider(ProfileStore store, HttpClient http, TimeProvider time)
{
    private Profile? _profile;

    public ProfileStore Store { get; } = store;

    public Profile Profile => _profile ??= Store.Load() ?? throw NotSignedIn(Store);

    public async Task<Profile> LoginAsync(Uri url, string clientId, string clientSecret, CancellationToken cancellationToken)
    {
        var token = await RequestAsync(url, "auth/token", [new("grant_type", "client_credentials")], clientId, clientSecret, cancellationToken);
        var profile = ToProfile(url, clientId, clientSecret, token);
        using (await Store.LockAsync(cancellationToken))
        {
            Store.Save(profile);
        }

        _profile = profile;
        return profile;
    }

    public async Task<string> GetAccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        var current = Profile;
        if (!forceRefresh && IsFresh(current))
        {
            return current.AccessToken;
        }

        using (await Store.LockAsync(cancellationToken))
        {
            var onDisk = Store.Load() ?? throw NotSignedIn(Store);
            if (IsFresh(onDisk) && (!forceRefresh || onDisk.AccessToken != current.AccessToken))
            {
                _profile = onDisk;
                return onDisk.AccessToken;
            }

            var renewed = await RenewAsync(onDisk, cancellationToken);
            Store.Save(renewed);
            _profile = renewed;
            return renewed.AccessToken;
        }
    }

    /// <summary>Revokes the refresh token (RFC 7009) and forgets the profile.</summary>
    public async Task<bool> LogoutAsync(CancellationToken cancellationToken)
    {
        if (Store.Load() is not { } profile)
        {
            return false;
        }

        if (profile.RefreshToken is { } refreshToken)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(profile.Url), "auth/revoke"))
                {
                    Content = new FormUrlEncodedContent([new("token", refreshToken), new("token_type_hint", "refresh_token")]),
                };
                request.Headers.Authorization = Basic(profile.ClientId, profile.ClientSecret);
                using var _ = await http.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException)
            {
                // Unreachable: the local copy is deleted all the same; the token expires on its own.
            }
        }

        return Store.Delete();
    }

    private async Task<Profile> RenewAsync(Profile profile, CancellationToken cancellationToken)
    {
        var url = new Uri(profile.Url);
        if (profile.RefreshToken is { } refreshToken)
        {
            try
            {
                var refreshed = await RequestAsync(url, "auth/refresh",
                    [new("grant_type", "refresh_token"), new("refresh_token", refreshToken)], profile.ClientId, profile.ClientSecret, cancellationToken);
                return ToProfile(url, profile.ClientId, profile.ClientSecret, refreshed);
            }
            catch (ApiException ex) when (ex.OAuth?.Error == "invalid_grant")
            {
                // The refresh token is gone (expired, revoked, reused elsewhere): sign in again below.
            }
        }

        var token = await RequestAsync(url, "auth/token", [new("grant_type", "client_credentials")], profile.ClientId, profile.ClientSecret, cancellationToken);
        return ToProfile(url, profile.ClientId, profile.ClientSecret, token);
    }

    private async Task<TokenResponse> RequestAsync(Uri url, string path, KeyValuePair<string, string>[] form, string clientId, string clientSecret,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(url, path))
        {
            Content = new FormUrlEncodedContent(form),
        };
        request.Headers.Authorization = Basic(clientId, clientSecret);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw ApiClient.Unreachable(ex);
        }

        using (response)
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw await ApiClient.ErrorAsync(HttpMethod.Post, "/" + path, response, cancellationToken);
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            try
            {
                return JsonSerializer.Deserialize(body, CliJson.Default.TokenResponse) is { AccessToken.Length: > 0 } token
                    ? token
                    : throw new CliException($"POST /{path} answered 200 without an access_token.", ExitCodes.Auth);
            }
            catch (JsonException ex)
            {
                throw new CliException($"POST /{path} answered 200 with a body that is not a token response.", ExitCodes.Auth, ex);
            }
        }
    }

    private Profile ToProfile(Uri url, string clientId, string clientSecret, TokenResponse token)
    {
        var now = time.GetUtcNow();
        return new Profile(url.ToString(), clientId, clientSecret, SubjectOf(token.AccessToken), token.Scope, token.AccessToken,
            now.AddSeconds(token.ExpiresIn), token.RefreshToken, now);
    }

    private bool IsFresh(Profile profile)
    {
        var lifetime = profile.AccessTokenExpiresAt - profile.SavedAt;
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, Math.Max(0, lifetime.Ticks / 4)));
        return profile.AccessTokenExpiresAt - time.GetUtcNow() > margin;
    }

    /// <summary>The <c>sub</c> claim (the user id) of a JWT; read, not validated — the server validates.</summary>
    public static Guid? SubjectOf(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
            using var json = JsonDocument.Parse(Convert.FromBase64String(payload));
            return json.RootElement.TryGetProperty("sub", out var sub) && Guid.TryParse(sub.GetString(), out var id) ? id : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    private static System.Net.Http.Headers.AuthenticationHeaderValue Basic(string clientId, string clientSecret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(clientSecret)}")));

    private static CliException NotSignedIn(ProfileStore store) =>
        new($"Not signed in (profile '{store.Name}'). Run: chat4all login --url URL --client-id ID --client-secret-stdin", ExitCodes.Auth);
}
