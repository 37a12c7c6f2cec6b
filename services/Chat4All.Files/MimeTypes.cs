using System.Text.RegularExpressions;

namespace Chat4All.Files;

/// <summary>
/// Declared content types, and what the first bytes of a file say it is. A file whose bytes carry a
/// known signature must be declared as that type (or as the generic <c>application/octet-stream</c>);
/// a file declared as a type we know the signature of must carry it. Anything else — text, types
/// without a signature — is taken as declared.
/// </summary>
public static partial class MimeTypes
{
    public const int MaxLength = 127;

    public const string OctetStream = "application/octet-stream";

    /// <summary>How many leading bytes detection needs.</summary>
    public const int SniffLength = 64;

    private static readonly Signature[] Signatures =
    [
        new("image/png", 0, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
        new("image/jpeg", 0, [0xFF, 0xD8, 0xFF]),
        new("image/gif", 0, "GIF87a"u8.ToArray()),
        new("image/gif", 0, "GIF89a"u8.ToArray()),
        new("image/webp", 0, "RIFF"u8.ToArray(), 8, "WEBP"u8.ToArray()),
        new("image/bmp", 0, "BM"u8.ToArray()),
        new("application/pdf", 0, "%PDF-"u8.ToArray()),
        new("application/zip", 0, [0x50, 0x4B, 0x03, 0x04]),
        new("application/gzip", 0, [0x1F, 0x8B]),
        new("audio/wav", 0, "RIFF"u8.ToArray(), 8, "WAVE"u8.ToArray()),
        new("audio/ogg", 0, "OggS"u8.ToArray()),
        new("audio/mpeg", 0, "ID3"u8.ToArray()),
        new("video/mp4", 4, "ftyp"u8.ToArray()),
        new("video/webm", 0, [0x1A, 0x45, 0xDF, 0xA3]),
    ];

    // Types that share a container with the detected one: Office documents are zip files, QuickTime
    // and 3GP are ISO media like MP4, Matroska is EBML like WebM, M4A is MP4 audio.
    private static readonly Dictionary<string, string[]> Families = new(StringComparer.OrdinalIgnoreCase)
    {
        ["application/zip"] =
        [
            "application/zip", "application/x-zip-compressed", "application/java-archive", "application/epub+zip",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.android.package-archive",
        ],
        ["application/gzip"] = ["application/gzip", "application/x-gzip", "application/x-tar+gzip"],
        ["video/mp4"] = ["video/mp4", "video/quicktime", "video/3gpp", "audio/mp4", "audio/x-m4a", "audio/aac", "image/heic", "image/avif"],
        ["video/webm"] = ["video/webm", "audio/webm", "video/x-matroska"],
        ["audio/wav"] = ["audio/wav", "audio/x-wav", "audio/wave"],
        ["audio/ogg"] = ["audio/ogg", "video/ogg", "application/ogg", "audio/opus"],
        ["image/jpeg"] = ["image/jpeg", "image/jpg", "image/pjpeg"],
        ["image/bmp"] = ["image/bmp", "image/x-ms-bmp"],
    };

    /// <summary>Normalises a declared type (<c>Image/PNG; charset=x</c> → <c>image/png</c>), or null when it is not a type/subtype.</summary>
    public static string? Normalise(string? declared)
    {
        if (string.IsNullOrWhiteSpace(declared))
        {
            return null;
        }

        var type = declared.Split(';', 2)[0].Trim().ToLowerInvariant();
        return type.Length <= MaxLength && TypePattern().IsMatch(type) ? type : null;
    }

    /// <summary>The type the leading bytes carry the signature of, or null when none is known.</summary>
    public static string? Detect(ReadOnlySpan<byte> head)
    {
        foreach (var signature in Signatures)
        {
            if (signature.Matches(head))
            {
                return signature.MimeType;
            }
        }

        return null;
    }

    /// <summary>Null when the bytes agree with the declared type; otherwise why they do not.</summary>
    public static string? Contradiction(string declared, ReadOnlySpan<byte> head)
    {
        var detected = Detect(head);
        if (detected is not null)
        {
            return declared == OctetStream || SameFamily(detected, declared)
                ? null
                : $"The content is {detected} by its leading bytes, not {declared} as declared.";
        }

        return HasSignature(declared)
            ? $"The content does not start like {declared}."
            : null;
    }

    private static bool SameFamily(string detected, string declared) =>
        string.Equals(detected, declared, StringComparison.OrdinalIgnoreCase) ||
        (Families.TryGetValue(detected, out var family) && family.Contains(declared, StringComparer.OrdinalIgnoreCase));

    // Declared as something whose bytes we would recognise.
    private static bool HasSignature(string declared) =>
        Signatures.Any(s => SameFamily(s.MimeType, declared));

    [GeneratedRegex("^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex TypePattern();

    private sealed record Signature(string MimeType, int Offset, byte[] Magic, int SecondOffset = 0, byte[]? SecondMagic = null)
    {
        public bool Matches(ReadOnlySpan<byte> head) =>
            head.Length >= Offset + Magic.Length && head.Slice(Offset, Magic.Length).SequenceEqual(Magic) &&
            (SecondMagic is null || (head.Length >= SecondOffset + SecondMagic.Length && head.Slice(SecondOffset, SecondMagic.Length).SequenceEqual(SecondMagic)));
    }
}
