using System.ComponentModel;

namespace Chat4All.Contracts.Auth;

// The bodies of the OAuth endpoints (/auth/*). OpenIddict writes them; these records describe them in
// the OpenAPI document and are what a client reads.

/// <summary>The form of <c>POST /auth/token</c> and <c>POST /auth/refresh</c> (RFC 6749 §4.4, §6).</summary>
public sealed record TokenRequestForm(
    [property: Description("`client_credentials` at /auth/token, `refresh_token` at /auth/refresh.")] string GrantType,
    [property: Description("The user's client id (or HTTP Basic).")] string? ClientId = null,
    [property: Description("The user's client secret (or HTTP Basic).")] string? ClientSecret = null,
    [property: Description("Space-separated scopes; omitted means every scope the user holds.")] string? Scope = null,
    [property: Description("The refresh token to rotate (refresh_token grant only).")] string? RefreshToken = null);

/// <summary>A successful token response (RFC 6749 §5.1).</summary>
public sealed record TokenResponse(
    [property: Description("An RS256 JWT for `Authorization: Bearer`.")] string AccessToken,
    [property: Description("Always `Bearer`.")] string TokenType,
    [property: Description("Seconds until the access token expires.")] int ExpiresIn,
    [property: Description("The scopes granted.")] string Scope,
    [property: Description("A single-use refresh token; using it twice revokes its whole family.")] string RefreshToken);

/// <summary>An OAuth error (RFC 6749 §5.2).</summary>
public sealed record OAuthError(
    [property: Description("`invalid_client`, `invalid_grant`, `invalid_request`, `unsupported_grant_type`, ...")] string Error,
    string? ErrorDescription = null,
    string? ErrorUri = null);

/// <summary>The form of <c>POST /auth/revoke</c> (RFC 7009).</summary>
public sealed record RevocationRequestForm(
    [property: Description("The refresh token to revoke.")] string Token,
    [property: Description("`refresh_token`.")] string? TokenTypeHint = null,
    string? ClientId = null,
    string? ClientSecret = null);

/// <summary>The parts of the discovery document (RFC 8414) a client needs.</summary>
public sealed record DiscoveryDocument(
    string Issuer,
    Uri TokenEndpoint,
    Uri RevocationEndpoint,
    Uri JwksUri,
    IReadOnlyList<string> GrantTypesSupported,
    IReadOnlyList<string> ScopesSupported,
    IReadOnlyList<string> TokenEndpointAuthMethodsSupported);

/// <summary>One RSA signing key (RFC 7517).</summary>
public sealed record JsonWebKey(string Kid, string Use, string Kty, string Alg, string E, string N);

/// <summary>The signing keys (RFC 7517 §5).</summary>
public sealed record JsonWebKeySet(IReadOnlyList<JsonWebKey> Keys);
