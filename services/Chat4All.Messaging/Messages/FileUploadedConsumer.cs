using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging.Messages;

/// <summary>
/// Records files' <c>file.uploaded</c> in messaging's own <c>messaging.files</c>, the only thing a
/// <c>payload.type = "file"</c> message is checked against (services do not call each other). A file
/// is immutable once completed, so a redelivered or republished event is a no-op.
/// </summary>
public sealed class FileUploadedConsumer(MessagingDbContext db) : IIntegrationEventConsumer<FileUploaded>
{
    public async Task HandleAsync(IntegrationEvent envelope, FileUploaded file, CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO messaging.files (file_id, conversation_id, owner_id, file_name, mime_type, size, sha256, completed_at)
            VALUES ({file.FileId}, {file.ConversationId}, {file.OwnerId}, {file.FileName}, {file.MimeType}, {file.Size}, {file.Sha256}, {file.CompletedAt})
            ON CONFLICT (file_id) DO NOTHING
            """, cancellationToken);
    }
}
