using System.Text;

namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>
/// What a key may look like, in both adapters: a relative path of <c>/</c>-separated segments, none
/// empty, <c>.</c> or <c>..</c>, without backslashes or NUL, at most 1024 UTF-8 bytes (S3's limit).
/// Keys come from our own code; this keeps a bug from reaching outside the store.
/// </summary>
internal static class BlobKeys
{
    public const int MaxBytes = 1024;

    public static void Validate(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Contains('\\', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Blob key '{key}' contains a backslash or NUL.", nameof(key));
        }

        if (key.Split('/').Any(segment => segment is "" or "." or ".."))
        {
            throw new ArgumentException($"Blob key '{key}' must be a relative path without empty, '.' or '..' segments.", nameof(key));
        }

        if (Encoding.UTF8.GetByteCount(key) > MaxBytes)
        {
            throw new ArgumentException($"Blob key is longer than {MaxBytes} UTF-8 bytes.", nameof(key));
        }
    }
}
