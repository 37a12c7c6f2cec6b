using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging.Users;

/// <summary>
/// Follows identity's <c>user.deleted</c>: the user leaves the directory and can no longer be made a
/// member (docs/adr/0061). Deletion is final, so the first event wins and a repeat changes nothing; it
/// may come before the user's <c>user.created</c> (topics are not ordered with each other), and then
/// creates the row already deleted, which the later <c>user.created</c> leaves alone.
/// </summary>
public sealed class UserDeletedConsumer(MessagingDbContext db) : IIntegrationEventConsumer<UserDeleted>
{
    public async Task HandleAsync(IntegrationEvent envelope, UserDeleted deleted, CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO messaging.users (user_id, tenant_id, name, created_at, name_updated_at, deleted_at)
            VALUES ({deleted.UserId}, {deleted.TenantId}, {deleted.Name}, {deleted.DeletedAt}, {deleted.DeletedAt}, {deleted.DeletedAt})
            ON CONFLICT (user_id) DO UPDATE SET deleted_at = excluded.deleted_at
            WHERE users.deleted_at IS NULL
            """, cancellationToken);
    }
}
