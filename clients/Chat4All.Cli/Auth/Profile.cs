namespace Chat4All.Cli.Auth;

/// <summary>
/// One sign-in, cached on disk (mode 0600). The client secret is kept because refreshing a
/// confidential client's token needs client authentication (RFC 6749 §6), and so does signing in
/// again once the refresh token is gone — the same trade-off as the AWS CLI's credentials file.
/// </summary>
public sealed record Profile(
    string Url,
    string ClientId,
    string ClientSecret,
    Guid? UserId,
    string? Scope,
    string AccessToken,
    DateTimeOffset AccessTokenExpiresAt,
    string? RefreshToken,
    DateTimeOffset SavedAt);
