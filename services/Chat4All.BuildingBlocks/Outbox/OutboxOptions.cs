using System.ComponentModel.DataAnnotations;

namespace Chat4All.BuildingBlocks.Outbox;

/// <summary>Outbox relay settings. Bound from <c>Chat4All:Outbox</c>.</summary>
public sealed class OutboxOptions
{
    public const string SectionName = "Chat4All:Outbox";

    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Buckets one relay works on at once, each in its own transaction. Events of one partition key
    /// share a bucket, so their order holds; across buckets the relay is bound by round trips, not CPU.
    /// </summary>
    [Range(1, 64)]
    public int Parallelism { get; set; } = 8;

    /// <summary>
    /// How soon a relay that just went idle looks for work again; each further empty pass doubles the
    /// wait up to <see cref="MaxPollInterval"/>. Commits in this process wake it at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The longest an idle relay goes without a pass: how late it may find rows another (crashed)
    /// instance committed, or a retry that came due. Below <see cref="PollInterval"/> it has no effect.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Publish attempts before an event is dead-lettered: the first try plus 3 retries.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 4;

    /// <summary>First retry delay; each further retry doubles it (1 s, 2 s, 4 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on the delay while even the dead-letter topic cannot be reached (the broker is down).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    [Required]
    public string DeadLetterTopic { get; set; } = Contracts.Topics.MessageProcessingDeadLetter;
}
