using System.Text.Json;
using Chat4All.Client;
using Chat4All.Contracts.Auth;

namespace Chat4All.Cli.Auth;

/// <summary>
/// Access tokens for the profile: the cached one while it has more than a margin left (a quarter of
/// its lifetime, at most a minute), otherwise a refresh through <c>/auth/refresh</c> under the
/// profile's lock (re-reading the file first: another process may have refreshed already). A refresh
/// token that is refused (expired, revoked, or spent by someone else) falls back to signing in again
/// with the stored client credentials.
/// </summary>
public sealed class TokenProvider(ProfileStore store, HttpClient http, TimeProvider time) : IAccessTokenSource
{
    private Profile? _profile;

    public ProfileStore Store { get; } = store;

    public Profile Profile => _profile ??= Store.Load() ?? throw NotSignedIn(Store);

    public async Task<Profile> LoginAsync(Uri url, string clientId, string clientSecret, CancellationToken cancellationToken)
    {
        var token = await TokenEndpoint.ClientCredentialsAsync(http, url, clientId, clientSecret, cancellationToken);
        var profile = ToProfile(url, clientId, clientSecret, token);
        using (await Store.LockAsync(cancellationToken))
        {
            Store.Save(profile);
        }

        _profile = profile;
        return profile;
    }

    public async ValueTask<string> GetAccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
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
            // Unreachable: the local copy is deleted all the same; the token expires on its own.
            await TokenEndpoint.RevokeAsync(http, new Uri(profile.Url), profile.ClientId, profile.ClientSecret, refreshToken, cancellationToken);
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
                var refreshed = await TokenEndpoint.RefreshAsync(http, url, profile.ClientId, profile.ClientSecret, refreshToken, cancellationToken);
                return ToProfile(url, profile.ClientId, profile.ClientSecret, refreshed);
            }
            catch (Chat4AllApiException ex) when (ex.OAuth?.Error == "invalid_grant")
            {
                // The refresh token is gone (expired, revoked, reused elsewhere): sign in again below.
            }
        }

        var token = await TokenEndpoint.ClientCredentialsAsync(http, url, profile.ClientId, profile.ClientSecret, cancellationToken);
        return ToProfile(url, profile.ClientId, profile.ClientSecret, token);
    }

    private Profile ToProfile(Uri url, string clientId, string clientSecret, TokenResponse token)
    {
        var now = time.GetUtcNow();
        return new Profile(url.ToString(), clientId, clientSecret, SubjectOf(token.AccessToken), token.Scope, token.AccessToken,
            now.AddSeconds(token.ExpiresIn), token.RefreshToken, now);
    }

    private bool IsFresh(Profile profile) => TokenEndpoint.IsFresh(profile.SavedAt, profile.AccessTokenExpiresAt, time.GetUtcNow());

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

    private static CliException NotSignedIn(ProfileStore store) =>
        new($"Not signed in (profile '{store.Name}'). Run: chat4all login --url URL --client-id ID --client-secret-stdin", ExitCodes.Auth);
}
