using Chat4All.BuildingBlocks.Outbox;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Identity.Data;

/// <summary>Identity's own schema: users plus OpenIddict's applications, authorizations, scopes and tokens, the revoked token families, and the outbox of <c>user.created</c>.</summary>
public sealed class IdentityDbContext(DbContextOptions<IdentityDbContext> options) : DbContext(options)
{
    public const string Schema = "identity";

    public DbSet<User> Users => Set<User>();

    public DbSet<RevokedTokenFamily> RevokedTokenFamilies => Set<RevokedTokenFamily>();

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

        modelBuilder.Entity<RevokedTokenFamily>(family =>
        {
            family.ToTable("revoked_token_families");
            family.HasKey(f => f.AuthorizationId);
            family.Property(f => f.AuthorizationId).HasColumnName("authorization_id");
            family.Property(f => f.RevokedAt).HasColumnName("revoked_at");

            // The record goes when OpenIddict prunes the authorization it marks.
            family.HasOne<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreAuthorization>()
                .WithMany()
                .HasForeignKey(f => f.AuthorizationId)
                .OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.AddOutbox();
    }
}
