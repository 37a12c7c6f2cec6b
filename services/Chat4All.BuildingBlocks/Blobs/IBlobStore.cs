namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>
/// The blob store port (ARCHITECTURE §3): objects addressed by key, and <em>staged</em> objects whose
/// parts are written independently — in any order, in parallel, each streamed, never buffered whole —
/// and then completed into one object without the bytes passing through the service again. Chosen
/// by <c>Chat4All:Storage:Provider</c> (<c>directory</c>, the default, or <c>s3</c>), independent of
/// the runtime.
/// </summary>
public interface IBlobStore
{
    /// <summary>
    /// Starts a staged object that will become <paramref name="key"/>: <paramref name="totalLength"/>
    /// bytes in parts of <paramref name="partSize"/> (the last one may be shorter). The returned
    /// handle is opaque (S3: the multipart UploadId); callers persist it and pass it back.
    /// </summary>
    Task<StagedBlob> BeginStagedAsync(string key, long totalLength, long partSize, CancellationToken cancellationToken);

    /// <summary>
    /// Streams exactly <paramref name="length"/> bytes of part <paramref name="partNumber"/> (1-based)
    /// from <paramref name="content"/>, hashing them (SHA-256) on the way. Writing a part again
    /// replaces it. Throws <see cref="BlobLengthMismatchException"/> when the content is shorter or
    /// longer than <paramref name="length"/>; the part is then not usable.
    /// </summary>
    Task<StagedPart> WritePartAsync(StagedBlob blob, int partNumber, Stream content, long length, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the parts (in part-number order) the object <see cref="StagedBlob.Key"/>, server-side.
    /// Idempotent: completing an already completed staged object succeeds when the object exists with
    /// the expected length.
    /// </summary>
    Task CompleteStagedAsync(StagedBlob blob, IReadOnlyList<StagedPart> parts, CancellationToken cancellationToken);

    /// <summary>Drops a staged object and every part written to it; idempotent.</summary>
    Task AbortStagedAsync(StagedBlob blob, CancellationToken cancellationToken);

    /// <summary>The object's length, or null when there is no such object.</summary>
    Task<BlobProperties?> GetPropertiesAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Streams <paramref name="length"/> bytes (all remaining when null) from <paramref name="offset"/>.
    /// Throws <see cref="BlobNotFoundException"/> when there is no such object.
    /// </summary>
    Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken);

    /// <summary>Deletes the object; idempotent.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// A time-limited URL a client can GET the object from directly, served with the given file name
    /// and content type; null when the store has no such URLs (the directory store), and the service
    /// streams the bytes itself.
    /// </summary>
    Task<Uri?> GetDownloadUrlAsync(string key, string fileName, string contentType, TimeSpan lifetime, CancellationToken cancellationToken);
}

/// <summary>A staged object in progress: what <see cref="IBlobStore.BeginStagedAsync"/> returned, persisted by the caller.</summary>
public sealed record StagedBlob(string Key, string Handle, long TotalLength, long PartSize);

/// <summary>One written part: its length, the SHA-256 of its bytes (lowercase hex) and the store's tag for it (S3 ETag).</summary>
public sealed record StagedPart(int PartNumber, long Length, string Sha256, string? ETag);

/// <summary>What the store knows of an object.</summary>
public sealed record BlobProperties(long Length);

/// <summary>The content of a part was not exactly as long as announced.</summary>
public sealed class BlobLengthMismatchException(long expected, long actual)
    : Exception($"Expected {expected} bytes, got {(actual > expected ? "more than " + expected : actual.ToString(System.Globalization.CultureInfo.InvariantCulture))}.")
{
    public long Expected { get; } = expected;

    public long Actual { get; } = actual;
}

/// <summary>No object under the key.</summary>
public sealed class BlobNotFoundException(string key) : Exception($"No blob '{key}'.")
{
    public string Key { get; } = key;
}
