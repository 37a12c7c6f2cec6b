namespace Chat4All.Contracts.Events;

/// <summary>
/// Published by files when an upload has been assembled and verified (partition key: conversation
/// id). Messaging accepts <c>payload.type = "file"</c> messages for the file from then on.
/// </summary>
public sealed record FileUploaded(
    Guid FileId,
    Guid UploadId,
    Guid ConversationId,
    Guid OwnerId,
    string FileName,
    string MimeType,
    long Size,
    string Sha256,
    DateTimeOffset CompletedAt);
