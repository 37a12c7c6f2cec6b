using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Chat4All.Delivery.Connectors;

/// <summary>
/// Signs and verifies webhooks per the Standard Webhooks specification (https://www.standardwebhooks.com):
/// headers <c>webhook-id</c>, <c>webhook-timestamp</c> (unix seconds) and <c>webhook-signature</c>
/// (space-separated <c>v1,&lt;base64 HMAC-SHA256&gt;</c> entries) over <c>{id}.{timestamp}.{body}</c>,
/// keyed by a <c>whsec_&lt;base64&gt;</c> secret. One instance per secret; thread-safe.
/// </summary>
public sealed class StandardWebhooks
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";
    public const string SecretPrefix = "whsec_";

    /// <summary>How far a webhook's timestamp may be from now, either way, before it counts as a replay.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    private const string SignatureVersion = "v1";
    private const int SignatureSize = 32;

    private readonly byte[] _key;

    /// <param name="secret"><c>whsec_</c> followed by the base64 key (the prefix may be left out).</param>
    public StandardWebhooks(string secret)
    {
        if (!TryDecodeSecret(secret, out var key))
        {
            throw new ArgumentException($"A webhook secret is '{SecretPrefix}' followed by a base64-encoded key of at least 16 bytes.", nameof(secret));
        }

        _key = key;
    }

    /// <summary>A new random secret (32 bytes) in the <c>whsec_</c> format.</summary>
    public static string GenerateSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Whether <paramref name="secret"/> is a usable secret: optional <c>whsec_</c> prefix, base64, at least 16 bytes.</summary>
    public static bool IsValidSecret(string? secret) => secret is not null && TryDecodeSecret(secret, out _);

    /// <summary>The <c>webhook-signature</c> value (<c>v1,&lt;base64&gt;</c>) for one webhook.</summary>
    public string Sign(string webhookId, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        Span<byte> signature = stackalloc byte[SignatureSize];
        Compute(webhookId, timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), body, signature);
        return SignatureVersion + "," + Convert.ToBase64String(signature);
    }

    /// <summary>The three headers to send with <paramref name="body"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> CreateHeaders(string webhookId, DateTimeOffset timestamp, ReadOnlySpan<byte> body) =>
    [
        new(IdHeader, webhookId),
        new(TimestampHeader, timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        new(SignatureHeader, Sign(webhookId, timestamp, body)),
    ];

    public WebhookVerification Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now) =>
        Verify(headers[IdHeader].ToString(), headers[TimestampHeader].ToString(), string.Join(' ', headers[SignatureHeader].ToArray()), body, now);

    /// <summary>
    /// Checks the headers' values against <paramref name="body"/>: all present, the timestamp within
    /// <see cref="Tolerance"/> of <paramref name="now"/>, and at least one <c>v1</c> signature matching
    /// (several are allowed so a sender can rotate secrets). Signatures are compared in constant time.
    /// </summary>
    public WebhookVerification Verify(string? webhookId, string? timestamp, string? signatures, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(webhookId) || string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signatures))
        {
            return WebhookVerification.Rejected("missing_headers");
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return WebhookVerification.Rejected("invalid_timestamp");
        }

        var sentAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        if (sentAt < now - Tolerance)
        {
            return WebhookVerification.Rejected("timestamp_too_old");
        }

        if (sentAt > now + Tolerance)
        {
            return WebhookVerification.Rejected("timestamp_too_new");
        }

        Span<byte> expected = stackalloc byte[SignatureSize];
        Compute(webhookId, timestamp, body, expected);
        Span<byte> candidate = stackalloc byte[SignatureSize + 3]; // room to notice an over-long value
        foreach (var entry in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var comma = entry.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || !entry.AsSpan(0, comma).SequenceEqual(SignatureVersion))
            {
                continue; // another scheme (e.g. v1a) or garbage: not ours to judge
            }

            if (Convert.TryFromBase64String(entry[(comma + 1)..], candidate, out var written)
                && written == SignatureSize
                && CryptographicOperations.FixedTimeEquals(candidate[..SignatureSize], expected))
            {
                return new WebhookVerification(true, webhookId, null);
            }
        }

        return WebhookVerification.Rejected("no_matching_signature");
    }

    private void Compute(string webhookId, string timestamp, ReadOnlySpan<byte> body, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(Encoding.UTF8.GetBytes(webhookId + "." + timestamp + "."));
        hmac.AppendData(body);
        hmac.GetHashAndReset(destination);
    }

    private static bool TryDecodeSecret(string secret, out byte[] key)
    {
        var encoded = secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret;
        var buffer = new byte[(encoded.Length * 3 / 4) + 3];
        if (encoded.Length > 0 && Convert.TryFromBase64String(encoded, buffer, out var written) && written >= 16)
        {
            key = buffer[..written];
            return true;
        }

        key = [];
        return false;
    }
}
