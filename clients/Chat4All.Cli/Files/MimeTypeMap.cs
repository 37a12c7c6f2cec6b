namespace Chat4All.Cli.Files;

/// <summary>
/// The declared type of a file by its extension. Anything unknown is <c>application/octet-stream</c>,
/// which the server accepts whatever the bytes are; a known type must match the file's magic bytes.
/// </summary>
public static class MimeTypeMap
{
    public const string Fallback = "application/octet-stream";

    private static readonly Dictionary<string, string> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".gif"] = "image/gif",
        [".webp"] = "image/webp",
        [".pdf"] = "application/pdf",
        [".zip"] = "application/zip",
        [".gz"] = "application/gzip",
        [".mp4"] = "video/mp4",
        [".webm"] = "video/webm",
        [".ogg"] = "audio/ogg",
        [".wav"] = "audio/wav",
        [".txt"] = "text/plain",
        [".md"] = "text/markdown",
        [".csv"] = "text/csv",
        [".json"] = "application/json",
    };

    public static string For(string path) => Types.GetValueOrDefault(Path.GetExtension(path), Fallback);
}
