using Chat4All.BuildingBlocks.Outbox;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging.Data;

/// <summary>Messaging's schema: conversations, members, messages, receipts, announced files, known users and the outbox.</summary>
public sealed class MessagingDbContext(DbContextOptions<MessagingDbContext> options) : DbContext(options)
{
    public const string Schema = "messaging";

    public DbSet<Conversation> Conversations => Set<Conversation>();

    public DbSet<ConversationMember> Members => Set<ConversationMember>();

    public DbSet<ConversationDeparture> Departures => Set<ConversationDeparture>();

    public DbSet<Message> Messages => Set<Message>();

    public DbSet<MessageEdit> MessageEdits => Set<MessageEdit>();

    public DbSet<Receipt> Receipts => Set<Receipt>();

    public DbSet<ConversationFile> Files => Set<ConversationFile>();

    public DbSet<TenantUser> Users => Set<TenantUser>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);

        modelBuilder.Entity<Conversation>(c =>
        {
            c.ToTable("conversations");
            c.HasKey(x => x.Id);
            c.Property(x => x.Id).HasColumnName("conversation_id");
            c.Property(x => x.TenantId).HasColumnName("tenant_id");
            c.Property(x => x.Type).HasColumnName("type").HasMaxLength(16);
            c.Property(x => x.Name).HasColumnName("name").HasMaxLength(200);
            c.Property(x => x.Description).HasColumnName("description").HasMaxLength(1000);
            c.Property(x => x.CreatedBy).HasColumnName("created_by");
            c.Property(x => x.PrivatePairKey).HasColumnName("private_pair_key").HasMaxLength(80);
            c.Property(x => x.LastSeq).HasColumnName("last_seq");
            c.Property(x => x.CreatedAt).HasColumnName("created_at");
            c.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            c.HasIndex(x => x.PrivatePairKey).IsUnique();
            c.HasMany(x => x.Members).WithOne().HasForeignKey(m => m.ConversationId);
        });

        modelBuilder.Entity<ConversationMember>(m =>
        {
            m.ToTable("conversation_members");
            m.HasKey(x => new { x.ConversationId, x.UserId });
            m.Property(x => x.ConversationId).HasColumnName("conversation_id");
            m.Property(x => x.UserId).HasColumnName("user_id");
            m.Property(x => x.JoinedAt).HasColumnName("joined_at");
            m.Property(x => x.LastReadSeq).HasColumnName("last_read_seq");
            m.HasIndex(x => x.UserId);
        });

        modelBuilder.Entity<ConversationDeparture>(d =>
        {
            d.ToTable("conversation_departures");
            d.HasKey(x => new { x.ConversationId, x.UserId });
            d.Property(x => x.ConversationId).HasColumnName("conversation_id");
            d.Property(x => x.UserId).HasColumnName("user_id");
            d.Property(x => x.LeftAtSeq).HasColumnName("left_at_seq");
            d.Property(x => x.LeftAt).HasColumnName("left_at");
            d.Property(x => x.RemovedBy).HasColumnName("removed_by");
            d.HasOne<Conversation>().WithMany().HasForeignKey(x => x.ConversationId);
        });

        modelBuilder.Entity<Message>(m =>
        {
            m.ToTable("messages");
            m.HasKey(x => x.Id);
            m.Property(x => x.Id).HasColumnName("message_id");
            m.Property(x => x.ConversationId).HasColumnName("conversation_id");
            m.Property(x => x.Seq).HasColumnName("seq");
            m.Property(x => x.SenderId).HasColumnName("sender_id");
            m.Property(x => x.PayloadType).HasColumnName("payload_type").HasMaxLength(16);
            m.Property(x => x.Text).HasColumnName("text");
            m.Property(x => x.FileId).HasColumnName("file_id");
            m.Property(x => x.Channels).HasColumnName("channels");
            m.Property(x => x.Priority).HasColumnName("priority").HasMaxLength(8);
            m.Property(x => x.FallbackChannel).HasColumnName("fallback_channel").HasMaxLength(16);
            m.Property(x => x.Status).HasColumnName("status").HasMaxLength(16);
            m.Property(x => x.IdempotencyKey).HasColumnName("idempotency_key").HasMaxLength(255);
            m.Property(x => x.RequestHash).HasColumnName("request_hash").HasMaxLength(64);
            m.Property(x => x.CreatedAt).HasColumnName("created_at");
            m.Property(x => x.EditedAt).HasColumnName("edited_at");
            m.Property(x => x.DeletedAt).HasColumnName("deleted_at");
            m.Property(x => x.ChangeSeq).HasColumnName("change_seq");
            m.HasIndex(x => new { x.ConversationId, x.Seq }).IsUnique();
            m.HasIndex(x => new { x.SenderId, x.IdempotencyKey }).IsUnique().HasFilter("idempotency_key IS NOT NULL");
        });

        modelBuilder.Entity<MessageEdit>(e =>
        {
            e.ToTable("message_edits");
            e.HasKey(x => new { x.MessageId, x.Seq });
            e.Property(x => x.MessageId).HasColumnName("message_id");
            e.Property(x => x.Seq).HasColumnName("seq");
            e.Property(x => x.PreviousText).HasColumnName("previous_text");
            e.Property(x => x.Text).HasColumnName("text");
            e.Property(x => x.IdempotencyKey).HasColumnName("idempotency_key").HasMaxLength(255);
            e.Property(x => x.EditedAt).HasColumnName("edited_at");
            e.HasIndex(x => new { x.MessageId, x.IdempotencyKey }).IsUnique().HasFilter("idempotency_key IS NOT NULL");
            e.HasOne<Message>().WithMany().HasForeignKey(x => x.MessageId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<Receipt>(r =>
        {
            r.ToTable("receipts");
            r.HasKey(x => new { x.MessageId, x.RecipientId, x.Channel });
            r.Property(x => x.MessageId).HasColumnName("message_id");
            r.Property(x => x.RecipientId).HasColumnName("recipient_id");
            r.Property(x => x.Channel).HasColumnName("channel").HasMaxLength(16);
            r.Property(x => x.Status).HasColumnName("status").HasMaxLength(16);
            r.Property(x => x.Error).HasColumnName("error").HasMaxLength(1000);
            r.Property(x => x.FallbackFrom).HasColumnName("fallback_from").HasMaxLength(16);
            r.Property(x => x.ChannelChange).HasColumnName("channel_change").HasMaxLength(32);
            r.Property(x => x.ChannelChangeSeq).HasColumnName("channel_change_seq");
            r.Property(x => x.UpdatedAt).HasColumnName("updated_at");
        });

        modelBuilder.Entity<ConversationFile>(f =>
        {
            // A copy of what files validated: no length limits of its own, so a valid event is never refused.
            f.ToTable("files");
            f.HasKey(x => x.FileId);
            f.Property(x => x.FileId).HasColumnName("file_id");
            f.Property(x => x.ConversationId).HasColumnName("conversation_id");
            f.Property(x => x.OwnerId).HasColumnName("owner_id");
            f.Property(x => x.FileName).HasColumnName("file_name");
            f.Property(x => x.MimeType).HasColumnName("mime_type");
            f.Property(x => x.Size).HasColumnName("size");
            f.Property(x => x.Sha256).HasColumnName("sha256");
            f.Property(x => x.CompletedAt).HasColumnName("completed_at");
        });

        modelBuilder.Entity<TenantUser>(u =>
        {
            // A copy of what identity validated: no length limits of its own, so a valid event is never refused.
            u.ToTable("users");
            u.HasKey(x => x.UserId);
            u.Property(x => x.UserId).HasColumnName("user_id");
            u.Property(x => x.TenantId).HasColumnName("tenant_id");
            u.Property(x => x.Name).HasColumnName("name");
            u.Property(x => x.CreatedAt).HasColumnName("created_at");
            u.Property(x => x.NameUpdatedAt).HasColumnName("name_updated_at");
            u.Property(x => x.DeletedAt).HasColumnName("deleted_at");
            u.HasIndex(x => new { x.TenantId, x.Name });
        });

        modelBuilder.AddOutbox();
    }
}
