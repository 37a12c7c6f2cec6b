using Chat4All.Messaging.Data;

namespace Chat4All.Messaging.Users;

/// <summary>Which rows of the users read model count as people of a tenant.</summary>
public static class TenantUsers
{
    /// <summary>
    /// The tenant's users who still exist: the directory lists only them, and only they may become
    /// members. Deleted users keep their row for the names of their old messages (expansions read all rows).
    /// </summary>
    public static IQueryable<TenantUser> Present(this IQueryable<TenantUser> users, Guid tenantId) =>
        users.Where(u => u.TenantId == tenantId && u.DeletedAt == null);
}
