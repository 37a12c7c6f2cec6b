using System.ComponentModel.DataAnnotations;

namespace Chat4All.Identity;

/// <summary>Identity settings. Bound from <c>Chat4All:Identity</c>.</summary>
public sealed class IdentityServiceOptions
{
    public const string SectionName = "Chat4All:Identity";

    /// <summary>
    /// PEM file with the RSA private key that signs access tokens (RS256). In production mount it
    /// from a secret. When unset, a key is generated once under <c>{DataDirectory}/keys/</c>.
    /// </summary>
    public string? SigningKeyPath { get; set; }

    /// <summary>PEM file with the RSA key that encrypts OpenIddict's internal (non-JWT) token payloads.</summary>
    public string? EncryptionKeyPath { get; set; }

    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    [Range(typeof(TimeSpan), "00:05:00", "365.00:00:00")]
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);
}
