using Chat4All.BuildingBlocks.Outbox;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Files.Data;

/// <summary>The files schema: uploads and their chunks, assembled files, memberships, assembly runs and the outbox.</summary>
public sealed class FilesDbContext(DbContextOptions<FilesDbContext> options) : DbContext(options)
{
    public const string Schema = "files";

    public DbSet<Upload> Uploads => Set<Upload>();

    public DbSet<UploadChunk> Chunks => Set<UploadChunk>();

    public DbSet<StoredFile> Files => Set<StoredFile>();

    public DbSet<Membership> Memberships => Set<Membership>();

    public DbSet<AssemblyRun> AssemblyRuns => Set<AssemblyRun>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);

        modelBuilder.Entity<Upload>(u =>
        {
            u.ToTable("uploads");
            u.HasKey(x => x.Id);
            u.Property(x => x.Id).HasColumnName("upload_id");
            u.Property(x => x.ConversationId).HasColumnName("conversation_id");
            u.Property(x => x.OwnerId).HasColumnName("owner_id");
            u.Property(x => x.FileName).HasColumnName("file_name").HasMaxLength(FileNames.MaxLength);
            u.Property(x => x.MimeType).HasColumnName("mime_type").HasMaxLength(MimeTypes.MaxLength);
            u.Property(x => x.FileSize).HasColumnName("file_size");
            u.Property(x => x.ChunkSize).HasColumnName("chunk_size");
            u.Property(x => x.TotalChunks).HasColumnName("total_chunks");
            u.Property(x => x.ChecksumSha256).HasColumnName("checksum_sha256").HasMaxLength(64);
            u.Property(x => x.ContentSha256).HasColumnName("content_sha256").HasMaxLength(64);
            u.Property(x => x.Status).HasColumnName("status").HasMaxLength(16);
            u.Property(x => x.FailureReason).HasColumnName("failure_reason").HasMaxLength(500);
            u.Property(x => x.BlobKey).HasColumnName("blob_key").HasMaxLength(200);
            u.Property(x => x.StagingHandle).HasColumnName("staging_handle").HasMaxLength(1024);
            u.Property(x => x.FileId).HasColumnName("file_id");
            u.Property(x => x.CreatedAt).HasColumnName("created_at");
            u.Property(x => x.ExpiresAt).HasColumnName("expires_at");
            u.Property(x => x.MergeRequestedAt).HasColumnName("merge_requested_at");
            u.Property(x => x.CompletedAt).HasColumnName("completed_at");
            // The purge's query: unfinished uploads past their expiry.
            u.HasIndex(x => x.ExpiresAt).HasDatabaseName("ix_uploads_expiring").HasFilter("status IN ('pending', 'uploading', 'failed')");
        });

        modelBuilder.Entity<UploadChunk>(c =>
        {
            c.ToTable("upload_chunks");
            c.HasKey(x => new { x.UploadId, x.ChunkNumber });
            c.Property(x => x.UploadId).HasColumnName("upload_id");
            c.Property(x => x.ChunkNumber).HasColumnName("chunk_number");
            c.Property(x => x.State).HasColumnName("state").HasMaxLength(16);
            c.Property(x => x.Size).HasColumnName("size");
            c.Property(x => x.Sha256).HasColumnName("sha256").HasMaxLength(64);
            c.Property(x => x.ETag).HasColumnName("etag").HasMaxLength(200);
            c.Property(x => x.ClaimId).HasColumnName("claim_id");
            c.Property(x => x.ClaimedUntil).HasColumnName("claimed_until");
            c.Property(x => x.StoredAt).HasColumnName("stored_at");
            c.HasOne<Upload>().WithMany().HasForeignKey(x => x.UploadId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<StoredFile>(f =>
        {
            f.ToTable("files");
            f.HasKey(x => x.Id);
            f.Property(x => x.Id).HasColumnName("file_id");
            f.Property(x => x.UploadId).HasColumnName("upload_id");
            f.Property(x => x.ConversationId).HasColumnName("conversation_id");
            f.Property(x => x.OwnerId).HasColumnName("owner_id");
            f.Property(x => x.FileName).HasColumnName("file_name").HasMaxLength(FileNames.MaxLength);
            f.Property(x => x.MimeType).HasColumnName("mime_type").HasMaxLength(MimeTypes.MaxLength);
            f.Property(x => x.Size).HasColumnName("size");
            f.Property(x => x.Sha256).HasColumnName("sha256").HasMaxLength(64);
            f.Property(x => x.BlobKey).HasColumnName("blob_key").HasMaxLength(200);
            f.Property(x => x.CreatedAt).HasColumnName("created_at");
            f.HasIndex(x => x.UploadId).IsUnique();
            f.HasIndex(x => x.ConversationId);
        });

        modelBuilder.Entity<Membership>(m =>
        {
            m.ToTable("memberships");
            m.HasKey(x => new { x.ConversationId, x.UserId });
            m.Property(x => x.ConversationId).HasColumnName("conversation_id");
            m.Property(x => x.UserId).HasColumnName("user_id");
            m.Property(x => x.TenantId).HasColumnName("tenant_id");
            m.Property(x => x.LeftAtSeq).HasColumnName("left_at_seq");
        });

        modelBuilder.Entity<AssemblyRun>(r =>
        {
            r.ToTable("assembly_runs");
            r.HasKey(x => x.UploadId);
            r.Property(x => x.UploadId).HasColumnName("upload_id");
            r.Property(x => x.NextStep).HasColumnName("next_step");
            r.Property(x => x.Finished).HasColumnName("finished");
            r.Property(x => x.Attempts).HasColumnName("attempts");
            r.Property(x => x.NextAttemptAt).HasColumnName("next_attempt_at");
            r.Property(x => x.LeaseOwner).HasColumnName("lease_owner");
            r.Property(x => x.LeaseUntil).HasColumnName("lease_until");
            r.Property(x => x.LastError).HasColumnName("last_error");
            r.Property(x => x.CreatedAt).HasColumnName("created_at");
            r.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            r.HasIndex(x => x.NextAttemptAt).HasDatabaseName("ix_assembly_runs_due").HasFilter("NOT finished");
        });

        modelBuilder.AddOutbox();
    }
}
