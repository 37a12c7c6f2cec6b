using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging.Users;

/// <summary>
/// Records identity's <c>user.created</c> in <c>messaging.users</c>: who may be a member, and of which
/// tenant. Existing users reach it through the backfill identity's outbox migration enqueued. A
/// redelivered event is a no-op, and so is one that arrives after a rename of the same user.
/// </summary>
public sealed class UserCreatedConsumer(MessagingDbContext db) : IIntegrationEventConsumer<UserCreated>
{
    public async Task HandleAsync(IntegrationEvent envelope, UserCreated user, CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO messaging.users (user_id, tenant_id, name, created_at, name_updated_at)
            VALUES ({user.UserId}, {user.TenantId}, {user.Name}, {user.CreatedAt}, {user.CreatedAt})
            ON CONFLICT (user_id) DO NOTHING
            """, cancellationToken);
    }
}
