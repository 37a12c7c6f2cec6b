using Chat4All.BuildingBlocks.Blobs;

namespace Chat4All.Files.Data;

/// <summary>Where an upload is in its life (docs/api.md §6); only these strings are stored and served.</summary>
public static class UploadStatuses
{
    public const string Pending = "pending";
    public const string Uploading = "uploading";
    public const string Merging = "merging";
    public const string Completed = "completed";
    public const string Failed = "failed";
}

/// <summary>An upload session: what the client declared, how far it got, and its staged blob.</summary>
public sealed class Upload
{
    public Guid Id { get; set; }

    public Guid ConversationId { get; set; }

    public Guid OwnerId { get; set; }

    /// <summary>Already sanitised (<see cref="FileNames.Sanitise"/>).</summary>
    public string FileName { get; set; } = string.Empty;

    public string MimeType { get; set; } = string.Empty;

    public long FileSize { get; set; }

    public long ChunkSize { get; set; }

    public int TotalChunks { get; set; }

    /// <summary>Whole-file SHA-256 the client declared (lowercase hex), checked after assembly.</summary>
    public string? ChecksumSha256 { get; set; }

    /// <summary>The assembled file's SHA-256, once the assembly hashed it.</summary>
    public string? ContentSha256 { get; set; }

    public string Status { get; set; } = UploadStatuses.Pending;

    public string? FailureReason { get; set; }

    /// <summary>The key the assembled file gets in the blob store.</summary>
    public string BlobKey { get; set; } = string.Empty;

    /// <summary>The blob store's handle of the staged object (S3: the multipart UploadId).</summary>
    public string StagingHandle { get; set; } = string.Empty;

    public Guid? FileId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>When the client asked to complete it: assembly time runs from here.</summary>
    public DateTimeOffset? MergeRequestedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>The exact size of chunk <paramref name="number"/>: <see cref="ChunkSize"/>, the last one what remains.</summary>
    public long ExpectedChunkSize(int number) =>
        number < TotalChunks ? ChunkSize : FileSize - ((long)(TotalChunks - 1) * ChunkSize);

    /// <summary>The blob store's staged object the chunks are written to.</summary>
    public StagedBlob Staged() => new(BlobKey, StagingHandle, FileSize, ChunkSize);
}

/// <summary>States of one chunk: claimed by a request that is streaming it, or stored.</summary>
public static class ChunkStates
{
    public const string Receiving = "receiving";
    public const string Stored = "stored";
}

/// <summary>
/// One chunk of an upload. A request claims the row (state receiving, a lease) before streaming, so
/// one writer at a time writes a part: the blob store keeps whatever was written last.
/// </summary>
public sealed class UploadChunk
{
    public Guid UploadId { get; set; }

    public int ChunkNumber { get; set; }

    public string State { get; set; } = ChunkStates.Receiving;

    public long Size { get; set; }

    public string? Sha256 { get; set; }

    public string? ETag { get; set; }

    public Guid ClaimId { get; set; }

    public DateTimeOffset ClaimedUntil { get; set; }

    public DateTimeOffset? StoredAt { get; set; }
}

/// <summary>An assembled, verified file: what downloads and messages refer to.</summary>
public sealed class StoredFile
{
    public Guid Id { get; set; }

    public Guid UploadId { get; set; }

    public Guid ConversationId { get; set; }

    public Guid OwnerId { get; set; }

    public string FileName { get; set; } = string.Empty;

    public string MimeType { get; set; } = string.Empty;

    public long Size { get; set; }

    public string Sha256 { get; set; } = string.Empty;

    public string BlobKey { get; set; } = string.Empty;

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>Who is or was in a conversation, from <c>conversation.created</c>, <c>conversation.member_added</c> and <c>conversation.member_removed</c>.</summary>
public sealed class Membership
{
    public Guid ConversationId { get; set; }

    public Guid UserId { get; set; }

    /// <summary>The conversation's tenant (from its events): a caller of another tenant is told the conversation does not exist.</summary>
    public Guid TenantId { get; set; }

    /// <summary>Set when the user left or was removed: they may no longer upload into the conversation or download its files. Kept, so a late event cannot make them a member again.</summary>
    public long? LeftAtSeq { get; set; }
}

/// <summary>
/// The standalone runtime's durable record of one assembly (the dapr runtime's Dapr Workflow keeps
/// its own): the next step to run, and a lease so one runner at a time works on it.
/// </summary>
public sealed class AssemblyRun
{
    public Guid UploadId { get; set; }

    /// <summary>Index into <c>AssemblySteps.Sequence</c> of the first step not yet done.</summary>
    public int NextStep { get; set; }

    public bool Finished { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public Guid? LeaseOwner { get; set; }

    public DateTimeOffset? LeaseUntil { get; set; }

    public string? LastError { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
