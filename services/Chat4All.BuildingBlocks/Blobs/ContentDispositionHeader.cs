using System.Globalization;
using System.Text;

namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>Content-Disposition values for downloads (RFC 6266 with RFC 8187 <c>filename*</c>).</summary>
public static class ContentDispositionHeader
{
    /// <summary>
    /// <c>attachment; filename="…"; filename*=UTF-8''…</c>: the exact name, UTF-8 percent-encoded, for
    /// every current client, plus an ASCII fallback (anything else, quotes, backslashes and <c>%</c>
    /// become <c>_</c>) for old ones. The value is plain ASCII, so it is safe in a header and a URL.
    /// </summary>
    public static string Attachment(string fileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var fallback = new StringBuilder(fileName.Length);
        foreach (var rune in fileName.EnumerateRunes())
        {
            fallback.Append(rune.Value is >= 0x20 and < 0x7F and not '"' and not '\\' and not '%' ? (char)rune.Value : '_');
        }

        var encoded = new StringBuilder(fileName.Length * 3);
        foreach (var b in Encoding.UTF8.GetBytes(fileName))
        {
            if (IsAttrChar(b))
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return $"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}";
    }

    // RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
    private static bool IsAttrChar(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'&' or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^'
            or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
}
