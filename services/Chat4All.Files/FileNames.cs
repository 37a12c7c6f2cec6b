using System.Buffers;
using System.Globalization;
using System.Text;

namespace Chat4All.Files;

/// <summary>
/// File names as clients send them are untrusted: they become a display name and a
/// <c>Content-Disposition</c> (<see cref="Chat4All.BuildingBlocks.Blobs.ContentDispositionHeader"/>), never a path. Sanitising keeps the last path segment, drops control and
/// format characters and the characters Windows and shells treat specially, and caps the length.
/// </summary>
public static class FileNames
{
    public const int MaxLength = 255;

    private static readonly SearchValues<char> Reserved = SearchValues.Create("<>:\"/\\|?*");

    /// <summary>The safe display name, or null when nothing printable is left (the caller answers 400).</summary>
    public static string? Sanitise(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        // Only the last segment counts: "../../etc/passwd" and "C:\x\y.txt" become "passwd" and "y.txt".
        var lastSeparator = name.AsSpan().LastIndexOfAny('/', '\\');
        var segment = lastSeparator >= 0 ? name[(lastSeparator + 1)..] : name;
        var builder = new StringBuilder(segment.Length);
        foreach (var rune in segment.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
            {
                continue;
            }

            if (rune.IsBmp && Reserved.Contains((char)rune.Value))
            {
                builder.Append('_');
                continue;
            }

            builder.Append(rune.ToString());
        }

        // Leading dots would make hidden files; trailing dots and spaces are dropped by Windows.
        var cleaned = builder.ToString().Trim().TrimStart('.').TrimEnd('.', ' ');
        if (cleaned.Length == 0)
        {
            return null;
        }

        return Truncate(cleaned);
    }

    // Keeps the extension when it can: "very-long-name….pdf".
    private static string Truncate(string name)
    {
        if (name.Length <= MaxLength)
        {
            return name;
        }

        var dot = name.LastIndexOf('.');
        var extension = dot > 0 && name.Length - dot <= 16 ? name[dot..] : string.Empty;
        var stem = name[..(MaxLength - extension.Length)];
        // Never cut a surrogate pair in half.
        if (char.IsHighSurrogate(stem[^1]))
        {
            stem = stem[..^1];
        }

        return stem + extension;
    }
}
