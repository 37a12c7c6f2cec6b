namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>
/// The blob store port (docs/architecture.md §3): objects addressed by key, and <em>staged</em> objects whose
/// parts are written independently — in any order, in parallel, each streamed, never buffered whole —
/// and then completed into one object without the bytes passing through the service again. Chosen
/// by <c>Chat4All:Storage:Provider</c> (<c>directory</c>, the default, or <c>s3</c>), independent of
/// the runtime; see docs/adr/0012-blob-store.md.
/// <para>
/// Keys are relative paths of <c>/</c>-separated segments (no empty, <c>.</c> or <c>..</c> segment, no
/// backslash or NUL, at most 1024 UTF-8 bytes); anything else is an <see cref="ArgumentException"/>.
/// Give each staged object a key of its own (e.g. one holding the upload id): completion is
/// idempotent by "the object exists with the expected length".
/// </para>
/// <para>
/// The caller guarantees one writer per part at a time (the files service claims a chunk before
/// streaming it): S3 keeps whichever upload of a part finishes last, and the directory store writes
/// parts in place, so two concurrent writers of one part could leave a mix of both.
/// </para>
/// </summary>
public interface IBlobStore
{
    /// <summary>
    /// Starts a staged object that will become <paramref name="key"/>: <paramref name="totalLength"/>
    /// bytes in parts of <paramref name="partSize"/> (the last one may be shorter). The returned
    /// handle is opaque (S3: the multipart UploadId); callers persist it and pass it back. Layouts S3
    /// cannot hold (see <see cref="StagedBlobLimits"/>: parts under 5 MiB unless there is only one, over
    /// 5 GiB, more than 10,000 parts) are an <see cref="ArgumentOutOfRangeException"/> in every store.
    /// </summary>
    Task<StagedBlob> BeginStagedAsync(string key, long totalLength, long partSize, CancellationToken cancellationToken);

    /// <summary>
    /// Streams exactly <paramref name="length"/> bytes of part <paramref name="partNumber"/> (1-based)
    /// from <paramref name="content"/>, hashing them (SHA-256) on the way. Writing a part again
    /// replaces it. <paramref name="content"/> is read forward only (a request body will do) and never
    /// buffered whole; the part is durable when this returns. <paramref name="length"/> must be that
    /// part's length (<see cref="StagedBlobLimits.PartLength"/>), else <see cref="ArgumentOutOfRangeException"/>.
    /// Throws <see cref="BlobLengthMismatchException"/> when the content is shorter or longer than
    /// <paramref name="length"/>; the part is then not usable (write it again), and
    /// <see cref="InvalidOperationException"/> when the staged object was completed or aborted.
    /// </summary>
    Task<StagedPart> WritePartAsync(StagedBlob blob, int partNumber, Stream content, long length, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the parts (in part-number order) the object <see cref="StagedBlob.Key"/>, server-side.
    /// Idempotent: completing an already completed staged object succeeds when the object exists with
    /// the expected length. <see cref="InvalidOperationException"/> when <paramref name="parts"/> are not
    /// exactly parts 1..N with their lengths (nothing changes; write the missing ones and complete again),
    /// or when the staged object was aborted.
    /// </summary>
    Task CompleteStagedAsync(StagedBlob blob, IReadOnlyList<StagedPart> parts, CancellationToken cancellationToken);

    /// <summary>Drops a staged object and every part written to it; idempotent.</summary>
    Task AbortStagedAsync(StagedBlob blob, CancellationToken cancellationToken);

    /// <summary>The object's length, or null when there is no such object.</summary>
    Task<BlobProperties?> GetPropertiesAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Streams <paramref name="length"/> bytes (all remaining when null) from <paramref name="offset"/>;
    /// a range running past the end stops at the end. <paramref name="length"/> must be positive, and a
    /// non-zero <paramref name="offset"/> must lie inside the object (else <see cref="ArgumentOutOfRangeException"/>).
    /// Throws <see cref="BlobNotFoundException"/> when there is no such object. The stream is forward-only.
    /// </summary>
    Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken);

    /// <summary>Deletes the object; idempotent.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// A time-limited URL a client can GET the object from directly, served with the given file name
    /// and content type (<c>Content-Disposition: attachment</c>, see <see cref="ContentDispositionHeader"/>);
    /// null when the store has no such URLs (the directory store), and the service streams the bytes
    /// itself. The URL lives for <paramref name="lifetime"/>, at most the store's configured maximum
    /// (S3: <c>Chat4All:Storage:S3:PresignedUrlLifetime</c>). Whether the object exists is not checked.
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
