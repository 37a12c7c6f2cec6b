namespace Chat4All.Files;

/// <summary>Where files live in the blob store. One key per upload: the staged parts become the file under it.</summary>
internal static class BlobKeys
{
    public static string File(Guid uploadId) => $"files/{uploadId:N}";
}
