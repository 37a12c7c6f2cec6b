using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts.Events;
using Chat4All.Files.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Files.Memberships;

/// <summary>New members of a group may upload into it and download its files from now on (again, if they had left).</summary>
public sealed class MemberAddedConsumer(FilesDbContext db) : IIntegrationEventConsumer<ConversationMemberAdded>
{
    public async Task HandleAsync(IntegrationEvent envelope, ConversationMemberAdded added, CancellationToken cancellationToken)
    {
        var users = added.UserIds.Distinct().ToArray();
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO files.memberships (conversation_id, user_id, tenant_id)
            SELECT {added.ConversationId}, u, {added.TenantId} FROM unnest({users}) AS u
            ON CONFLICT (conversation_id, user_id) DO UPDATE SET left_at_seq = NULL
            """, cancellationToken);
    }
}

/// <summary>
/// A member who left or was removed loses the conversation's files at once: no download, no upload
/// (docs/adr/0041). The row stays, marked, so a late <c>conversation.created</c> cannot restore them.
/// </summary>
public sealed class MemberRemovedConsumer(FilesDbContext db) : IIntegrationEventConsumer<ConversationMemberRemoved>
{
    public async Task HandleAsync(IntegrationEvent envelope, ConversationMemberRemoved removed, CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO files.memberships (conversation_id, user_id, tenant_id, left_at_seq)
            VALUES ({removed.ConversationId}, {removed.UserId}, {removed.TenantId}, {removed.LeftAtSeq})
            ON CONFLICT (conversation_id, user_id) DO UPDATE SET left_at_seq = excluded.left_at_seq
            """, cancellationToken);
    }
}
