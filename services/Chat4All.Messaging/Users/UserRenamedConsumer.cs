using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging.Users;

/// <summary>
/// Follows identity's <c>user.renamed</c>: the newest name wins, whatever order the events arrive in
/// (topics are not ordered with each other, so a rename may even come before its user's
/// <c>user.created</c>, and then creates the row).
/// </summary>
public sealed class UserRenamedConsumer(MessagingDbContext db) : IIntegrationEventConsumer<UserRenamed>
{
    public async Task HandleAsync(IntegrationEvent envelope, UserRenamed renamed, CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO messaging.users (user_id, tenant_id, name, created_at, name_updated_at)
            VALUES ({renamed.UserId}, {renamed.TenantId}, {renamed.Name}, {renamed.RenamedAt}, {renamed.RenamedAt})
            ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, name_updated_at = excluded.name_updated_at
            WHERE users.name_updated_at < excluded.name_updated_at
            """, cancellationToken);
    }
}
