using System.ComponentModel.DataAnnotations;

namespace Chat4All.Contracts.Files;

// The REST bodies of /v1/files: resumable uploads (initiate, chunks, status, complete) and file metadata.

public sealed record InitiateUploadRequest(
    [property: Required] Guid? ConversationId,
    [property: Required] string? Filename,
    [property: Required] long? FileSize,
    [property: Required] string? MimeType,
    string? ChecksumSha256,
    long? ChunkSize);

public sealed record InitiatedUpload(Guid UploadId, int TotalChunks, long ChunkSize, DateTimeOffset ExpiresAt);

public sealed record ChunkStored(Guid UploadId, int ChunkNumber, int UploadedChunks, int TotalChunks, double Percentage);

public sealed record UploadStatusResponse(
    Guid UploadId,
    string Status,
    int UploadedChunks,
    int TotalChunks,
    double Percentage,
    IReadOnlyList<int> ReceivedChunks,
    IReadOnlyList<int> MissingChunks,
    Guid? FileId,
    string? DownloadUrl,
    string? FailureReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? CompletedAt);

public sealed record CompletionAccepted(Guid UploadId, string Status);

public sealed record FileMetadata(
    Guid FileId,
    Guid ConversationId,
    Guid UploadedBy,
    string Filename,
    string MimeType,
    long Size,
    string ChecksumSha256,
    string DownloadUrl,
    DateTimeOffset CreatedAt);
