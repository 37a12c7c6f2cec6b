using System.ComponentModel.DataAnnotations;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>Event-bus settings. Bound from <c>Chat4All:EventBus</c>; see docs/adr/0005-event-bus.md.</summary>
public sealed class EventBusOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:EventBus";

    /// <summary>
    /// Streams per topic (standalone). A partition key always maps to the same shard, which is what
    /// keeps its order; changing this on a live system moves keys between shards, so drain first.
    /// </summary>
    [Range(1, 1024)]
    public int Shards { get; set; } = 8;

    /// <summary>This process's name in Redis consumer groups. Must differ between live instances.</summary>
    [Required]
    public string ConsumerName { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Handler attempts before an event is dead-lettered: the first try plus 3 retries.</summary>
    [Range(1, 100)]
    public int MaxDeliveryAttempts { get; set; } = 4;

    /// <summary>First retry delay; each further retry doubles it (1 s, 2 s, 4 s), plus up to 10 % jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The shard owner also sweeps its group's pending list this often, claiming entries idle this
    /// long (e.g. delivered to a connection that dropped before the reply arrived).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan ClaimIdleAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a shard that just went idle waits before polling its stream again (SE.Redis cannot
    /// block on XREADGROUP). Each further empty read doubles the wait up to <see cref="MaxPollInterval"/>;
    /// a publish (in this process directly, from others over pub/sub) wakes it at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The longest an idle shard goes without polling: the most a lost wake-up (pub/sub is
    /// at-most-once) can delay an event, and what keeps an idle host's Redis calls to a few per second.
    /// Below <see cref="PollInterval"/> it has no effect (the wait never grows).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Prefix of every Redis key the bus uses; tests isolate themselves with a unique one.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_.:-]+$")]
    public string KeyPrefix { get; set; } = "chat4all";

    /// <summary>How long a handled event id is remembered, so a redelivery or republish is skipped.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan DedupeWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Shard ownership lease. An owner that dies stops renewing, and another instance takes the shard
    /// over (and its pending entries) once the lease expires.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Approximate cap per shard stream (XADD MAXLEN ~). Null by default: trimming can drop entries a
    /// group has not consumed yet, so it is a capacity decision an operator makes knowingly.
    /// </summary>
    [Range(1000, long.MaxValue)]
    public long? MaxStreamLength { get; set; }

    /// <summary>
    /// Consumer groups whose handlers are the realtime lane (ADR 0044): they never wait for
    /// <see cref="BackgroundConcurrency"/>, so frames to open sockets do not queue behind delivery
    /// and projection work. Comma-separated; empty puts every group in the background lane.
    /// </summary>
    [RegularExpression("^[A-Za-z0-9_.,-]*$")]
    public string PriorityGroups { get; set; } = "realtime";

    /// <summary>
    /// Most handler calls of the other groups running at once in this process (a read batch or one
    /// event each); the rest wait their turn. Bounds how much of the machine background work takes
    /// while it has a backlog, leaving the rest to the priority groups and to requests.
    /// </summary>
    [Range(1, 1024)]
    public int BackgroundConcurrency { get; set; } = Math.Max(4, 2 * Environment.ProcessorCount);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PollInterval >= LeaseDuration)
        {
            yield return new ValidationResult(
                $"{SectionName}:PollInterval ({PollInterval}) must be shorter than LeaseDuration ({LeaseDuration}).",
                [nameof(PollInterval), nameof(LeaseDuration)]);
        }
    }
}
