using Microsoft.EntityFrameworkCore;

namespace Chat4All.Realtime.Data;

/// <summary>
/// Realtime's own read models (schema <c>realtime</c>), built from events so the service never
/// reads another service's tables: who is in which conversation (for auto-subscription, subscribe
/// checks), who has written to whom (presence visibility), and the log of the frames of each
/// conversation's sequence (messages, edits, deletes) that <c>resume</c> replays from.
/// </summary>
public sealed class RealtimeDbContext(DbContextOptions<RealtimeDbContext> options) : DbContext(options)
{
    public const string Schema = "realtime";

    public DbSet<Membership> Memberships => Set<Membership>();

    public DbSet<LoggedMessage> MessageLog => Set<LoggedMessage>();

    public DbSet<Correspondence> Correspondences => Set<Correspondence>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.Entity<Membership>(m =>
        {
            m.ToTable("memberships");
            m.HasKey(x => new { x.ConversationId, x.UserId });
            m.Property(x => x.ConversationId).HasColumnName("conversation_id");
            m.Property(x => x.UserId).HasColumnName("user_id");
            m.Property(x => x.LeftAtSeq).HasColumnName("left_at_seq");
            m.HasIndex(x => new { x.UserId, x.ConversationId });
        });
        modelBuilder.Entity<LoggedMessage>(l =>
        {
            l.ToTable("message_log");
            l.HasKey(x => new { x.ConversationId, x.Seq });
            l.Property(x => x.ConversationId).HasColumnName("conversation_id");
            l.Property(x => x.Seq).HasColumnName("seq");
            l.Property(x => x.MessageId).HasColumnName("message_id");
            l.Property(x => x.FrameType).HasColumnName("frame_type").HasMaxLength(32).HasDefaultValue(Contracts.Realtime.FrameTypes.MessageCreated);
            l.Property(x => x.Data).HasColumnName("data").HasColumnType("jsonb");
            l.Property(x => x.CreatedAt).HasColumnName("created_at");
        });
        modelBuilder.Entity<Correspondence>(c =>
        {
            c.ToTable("correspondences");
            c.HasKey(x => new { x.SenderId, x.RecipientId });
            c.Property(x => x.SenderId).HasColumnName("sender_id");
            c.Property(x => x.RecipientId).HasColumnName("recipient_id");
        });
    }
}

public sealed class Membership
{
    public Guid ConversationId { get; init; }

    public Guid UserId { get; init; }

    /// <summary>Set when the user left or was removed (the conversation's seq then); null while a member. Kept, so a late event cannot make them a member again.</summary>
    public long? LeftAtSeq { get; init; }
}

/// <summary>
/// One frame of a conversation's sequence — <c>message.created</c>, <c>message.updated</c> or
/// <c>message.deleted</c> — with its data as pushed live, kept for replay at its seq.
/// </summary>
public sealed class LoggedMessage
{
    public Guid ConversationId { get; init; }

    public long Seq { get; init; }

    public Guid MessageId { get; init; }

    public string FrameType { get; init; } = Contracts.Realtime.FrameTypes.MessageCreated;

    public required string Data { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary><see cref="SenderId"/> has sent at least one message that <see cref="RecipientId"/> received.</summary>
public sealed class Correspondence
{
    public Guid SenderId { get; init; }

    public Guid RecipientId { get; init; }
}
