using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Chat4All.Files.Uploads;

/// <summary>SHA-256 values as clients send them: hex in JSON and query strings, base64 in <c>Digest</c>-style headers.</summary>
internal static class Checksums
{
    private static readonly System.Buffers.SearchValues<char> Hex = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    private const int HashBufferSize = 1024 * 1024;

    /// <summary>
    /// Streams <paramref name="content"/> through SHA-256, reading at most <paramref name="maxBytes"/>
    /// bytes (a caller that must know whether a body is too long asks for one more than it allows).
    /// Returns how many bytes were read and their SHA-256 as lowercase hex.
    /// </summary>
    public static async Task<(long Length, string Sha256)> Sha256Async(Stream content, long maxBytes, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(HashBufferSize);
        try
        {
            long total = 0;
            while (total < maxBytes)
            {
                var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, maxBytes - total)), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                hash.AppendData(buffer, 0, read);
                total += read;
            }

            return (total, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Lowercase hex, or null when <paramref name="value"/> is not 64 hex characters.</summary>
    public static string? NormaliseHex(string? value) =>
        value is { Length: 64 } && !value.AsSpan().ContainsAnyExcept(Hex) ? value.ToLowerInvariant() : null;

    /// <summary>
    /// The SHA-256 in a <c>Digest: sha-256=&lt;base64&gt;</c> (RFC 3230) or
    /// <c>Repr-Digest: sha-256=:&lt;base64&gt;:</c> (RFC 9530) header, as lowercase hex. Null when the
    /// header carries no sha-256; <paramref name="malformed"/> when it carries one that is not 32 bytes.
    /// </summary>
    public static string? FromDigestHeader(string? header, out bool malformed)
    {
        malformed = false;
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || !part[..equals].Trim().Equals("sha-256", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var value = part[(equals + 1)..].Trim().Trim(':');
            var bytes = new byte[32];
            if (Base64.IsValid(value) && Convert.TryFromBase64String(value, bytes, out var written) && written == 32)
            {
                return Convert.ToHexStringLower(bytes);
            }

            malformed = true;
            return null;
        }

        return null;
    }
}
