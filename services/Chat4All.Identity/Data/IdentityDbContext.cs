using Chat4All.BuildingBlocks.Outbox;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Identity.Data;

/// <summary>Identity's own schema: users plus OpenIddict's applications, authorizations, scopes and tokens, and the outbox of <c>user.created</c>.</summary>
public sealed class IdentityDbContext(DbContextOptions<IdentityDbContext> options) : DbContext(options)
{
    public const string Schema = "identity";

    public DbSet<User> Users => Set<User>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.UseOpenIddict();

        modelBuilder.Entity<User>(user =>
        {
            user.ToTable("users");
            user.HasKey(u => u.Id);
            user.Property(u => u.Id).HasColumnName("user_id");
            user.Property(u => u.Name).HasColumnName("name").HasMaxLength(100);
            user.Property(u => u.TenantId).HasColumnName("tenant_id");
            user.Property(u => u.ClientId).HasColumnName("client_id").HasMaxLength(100);
            user.Property(u => u.Scopes).HasColumnName("scopes");
            user.Property(u => u.CreatedAt).HasColumnName("created_at");
            user.Property(u => u.DisabledAt).HasColumnName("disabled_at");
            user.HasIndex(u => u.ClientId).IsUnique();
            user.HasIndex(u => new { u.TenantId, u.Name }).IsUnique();
        });

        modelBuilder.AddOutbox();
    }
}
