using System.ComponentModel.DataAnnotations;

namespace Chat4All.BuildingBlocks.Presence;

/// <summary>Presence settings. Bound from <c>Chat4All:Presence</c>; see docs/adr/0011-presence.md.</summary>
public sealed class PresenceOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Presence";

    /// <summary>
    /// How long a connection stays registered without a heartbeat. Instances heartbeat every
    /// <see cref="HeartbeatInterval"/> (a third of it), so two missed heartbeats are tolerated and a
    /// crashed instance's users go offline within about one TTL plus one sweep interval.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ConnectionTtl { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Prefix of every Redis key presence uses (standalone); tests isolate themselves with a unique one.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_.:-]+$")]
    public string KeyPrefix { get; set; } = "chat4all";

    /// <summary>
    /// How long a user's presence key outlives their last activity (standalone), which is how long an
    /// offline user's last-seen time is remembered; every operation and heartbeat renews it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan LastSeenRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often instances heartbeat their connections and sweeps run: a third of the TTL.</summary>
    public TimeSpan HeartbeatInterval => ConnectionTtl / 3;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LastSeenRetention <= ConnectionTtl)
        {
            yield return new ValidationResult(
                $"{SectionName}:LastSeenRetention ({LastSeenRetention}) must be longer than ConnectionTtl ({ConnectionTtl}).",
                [nameof(LastSeenRetention), nameof(ConnectionTtl)]);
        }
    }
}
