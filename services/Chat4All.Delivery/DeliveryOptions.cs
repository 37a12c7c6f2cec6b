using System.ComponentModel.DataAnnotations;

namespace Chat4All.Delivery;

/// <summary>The delivery pipeline's settings, bound from <c>Chat4All:Delivery</c>; see docs/adr/0007-delivery.md.</summary>
public sealed class DeliveryOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Delivery";

    /// <summary>Attempts per delivery before it fails: the first try plus 3 retries.</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 4;

    /// <summary>First retry delay; each further retry doubles it (1 s, 2 s, 4 s) with ±20 % jitter, and never waits less than a provider's retry-after.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>No retry waits longer than this, whatever a provider asks for.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A provider call that takes longer counts as a transient <c>timeout</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an instance owns a delivery it is attempting. An instance that dies mid-attempt
    /// leaves a claim that expires after this, and the sweep of any instance takes the work over.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries attempted at once by one instance (across all channels).</summary>
    [Range(1, 10_000)]
    public int MaxConcurrency { get; set; } = 64;

    /// <summary>
    /// Most deliveries attempted as one batch: claimed in one Redis call, read in one query and
    /// written in one state transaction (ADR 0070). Never more than the free slots of <see cref="MaxConcurrency"/>.
    /// </summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 64;

    /// <summary>
    /// Once the first provider call of a batch has answered, how long the batch waits for the others
    /// before it writes what it has; the later ones are written when they answer, so a slow channel
    /// holds back only its own deliveries.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan BatchStragglerWait { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often each instance looks for pending deliveries nobody is working on (after a crash, say).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Consecutive transient failures of a channel that open its circuit breaker.</summary>
    [Range(1, 1000)]
    public int BreakerFailureThreshold { get; set; } = 5;

    /// <summary>How long an open breaker refuses calls before it lets one trial call through.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a webhook id is remembered, so a replayed webhook is refused (longer than the signature tolerance).</summary>
    [Range(typeof(TimeSpan), "00:05:00", "7.00:00:00")]
    public TimeSpan WebhookReplayWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The retry delay after <paramref name="attempts"/> attempts: 1 s, 2 s, 4 s... ±20 %, at least retry-after, at most the cap.</summary>
    public TimeSpan RetryDelay(int attempts, TimeSpan? retryAfter)
    {
        var exponential = InitialRetryDelay * Math.Pow(2, Math.Max(0, attempts - 1));
        var jittered = exponential * (0.8 + (0.4 * Random.Shared.NextDouble()));
        var delay = retryAfter is { } asked && asked > jittered ? asked : jittered;
        return delay > MaxRetryDelay ? MaxRetryDelay : delay;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ClaimDuration <= AttemptTimeout)
        {
            yield return new ValidationResult(
                $"{SectionName}:ClaimDuration ({ClaimDuration}) must be longer than AttemptTimeout ({AttemptTimeout}), or a slow attempt could be taken over while it runs.",
                [nameof(ClaimDuration), nameof(AttemptTimeout)]);
        }

        if (MaxRetryDelay < InitialRetryDelay)
        {
            yield return new ValidationResult($"{SectionName}:MaxRetryDelay must not be shorter than InitialRetryDelay.", [nameof(MaxRetryDelay)]);
        }
    }
}
