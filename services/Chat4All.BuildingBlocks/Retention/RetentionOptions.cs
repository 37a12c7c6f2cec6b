using System.ComponentModel.DataAnnotations;

namespace Chat4All.BuildingBlocks.Retention;

/// <summary>How long finished data is kept, per retention rule. Bound from <c>Chat4All:Retention</c>.</summary>
public sealed class RetentionOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Retention";

    public bool Enabled { get; set; } = true;

    /// <summary>Pause between two passes over every rule.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Rows one DELETE removes at most: short statements, no long lock on a busy table.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 5000;

    /// <summary>Age after which a rule's rows go, by rule name (see <see cref="RetentionRules"/>).</summary>
    public Dictionary<string, TimeSpan> Ages { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        // Published events: long enough to investigate an incident from the table.
        [RetentionRules.Outbox] = TimeSpan.FromDays(7),
        // Realtime's log is what `resume` replays; a client away longer reloads history instead.
        [RetentionRules.RealtimeMessageLog] = TimeSpan.FromDays(7),
        // Provider ids map delivered/read webhooks back to deliveries; providers report within days.
        [RetentionRules.ProviderMessages] = TimeSpan.FromDays(30),
        // Delivered, read or failed delivery records, by their last change: as long as the provider
        // ids that point at them, and long enough for an operator to replay a failure.
        [RetentionRules.FinishedDeliveries] = TimeSpan.FromDays(30),
        // Access and refresh tokens, by how long ago they expired: a spent refresh token is kept
        // while it could still be presented (a reuse must be recognised), then a day more.
        [RetentionRules.ExpiredTokens] = TimeSpan.FromDays(1),
        // Stream entries every group has acknowledged: kept a while for an operator's XRANGE.
        [RetentionRules.ConsumedStreamEntries] = TimeSpan.FromHours(1),
        // Succeeded webhook deliveries (the delivery log, what replay can resend); pending ones are never purged.
        [RetentionRules.WebhookDeliveries] = TimeSpan.FromDays(30),
        // Finished channel edits and recalls (their outcome is also in messaging's receipts); pending ones stay.
        [RetentionRules.ChannelChanges] = TimeSpan.FromDays(30),
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Interval < TimeSpan.FromSeconds(1) || Interval > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult($"{SectionName}:Interval must be between 00:00:01 and 1.00:00:00.", [nameof(Interval)]);
        }

        foreach (var (name, age) in Ages)
        {
            if (age < TimeSpan.FromMinutes(1))
            {
                yield return new ValidationResult($"{SectionName}:Ages:{name} must be at least 00:01:00.", [nameof(Ages)]);
            }
        }
    }
}
