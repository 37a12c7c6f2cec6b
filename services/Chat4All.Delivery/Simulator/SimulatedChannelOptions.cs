using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Chat4All.Delivery.Connectors;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// How the simulated provider of one channel behaves. Named options, one per channel, bound from
/// <c>Chat4All:Delivery:Channels:{channel}</c> (e.g. <c>Chat4All:Delivery:Channels:sms:TransientFailureRate</c>).
/// The defaults make a well-behaved provider for demos: accepted at once, delivered after half a
/// second, read by every other recipient two seconds later.
/// </summary>
public sealed class SimulatedChannelOptions : IValidatableObject
{
    public const string SectionPrefix = "Chat4All:Delivery:Channels";

    public static string SectionName(string channel) => $"{SectionPrefix}:{channel}";

    /// <summary>Shortest time the provider takes to answer a send.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan LatencyMin { get; set; } = TimeSpan.Zero;

    /// <summary>Longest time the provider takes to answer a send; each send draws uniformly between min and max.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan LatencyMax { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How long the connector waits for the provider. A send that draws a simulated timeout waits
    /// this long and then answers <c>Transient("timeout")</c>; keep it short in tests.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Share of sends (0..1) that fail transiently: a third each a timeout, a 429 with
    /// <see cref="RetryAfter"/> (<c>rate_limited</c>) and a 5xx (<c>provider_error</c>).
    /// </summary>
    [Range(0.0, 1.0)]
    public double TransientFailureRate { get; set; }

    /// <summary>
    /// Sends the provider takes per second for this channel, across all instances (a Redis fixed
    /// window). Beyond it a send answers <c>Transient("rate_limited")</c> with the rest of the window as
    /// retry-after. Null: no limit.
    /// </summary>
    [Range(1, 1_000_000)]
    public int? RateLimitPerSecond { get; set; } = 1000;

    /// <summary>The retry-after of a simulated 429 and of the outage switch's 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Recipients that do not exist at the provider: a well-formed address matching this regular
    /// expression is refused with <c>Permanent("recipient_unknown")</c>. Null: every address exists.
    /// Example: <c>^\+1555</c> for SMS.
    /// </summary>
    public string? UnreachablePattern { get; set; }

    /// <summary>Time from an accepted send to its <c>delivered</c> status report.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan DeliveredDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Share (0..1) of delivered messages that are then read.</summary>
    [Range(0.0, 1.0)]
    public double ReadProbability { get; set; } = 0.5;

    /// <summary>Time from the <c>delivered</c> report to the <c>read</c> report.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ReadDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long after a send the provider still accepts an edit of the message; null: no limit.
    /// Only asked of channels whose connector supports edits. Defaults per channel follow the real
    /// provider (<see cref="ApplyProviderDefaults"/>).
    /// </summary>
    public TimeSpan? EditWindow { get; set; }

    /// <summary>How long after a send the provider still accepts a recall (delete for everyone, unsend); null: no limit.</summary>
    public TimeSpan? RecallWindow { get; set; }

    /// <summary>
    /// Seeds every random decision. A send's decisions are a function of (seed, channel, delivery id,
    /// attempt) only, so the same deliveries behave the same in every run and on every instance.
    /// </summary>
    public long Seed { get; set; }

    /// <summary>
    /// The Standard Webhooks secret (<c>whsec_&lt;base64&gt;</c>) the provider signs this channel's
    /// webhooks with. When unset, one is generated once and kept in
    /// <c>{Chat4All:DataDirectory}/webhooks/{channel}.secret</c>. Instances that do not share that
    /// directory would each generate their own and reject each other's webhooks, so a multi-instance
    /// deployment must set this (from a secret store).
    /// </summary>
    public string? WebhookSecret { get; set; }

    /// <summary>
    /// The change windows of the real provider of <paramref name="channel"/>, before configuration:
    /// WhatsApp an edit within 15 minutes and "delete for everyone" within 2 days, Telegram a
    /// delete within 48 hours (edits of its own messages without a limit).
    /// </summary>
    public static void ApplyProviderDefaults(string channel, SimulatedChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        (TimeSpan? Edit, TimeSpan? Recall) windows = channel switch
        {
            Contracts.Channels.WhatsApp => (TimeSpan.FromMinutes(15), TimeSpan.FromDays(2)),
            Contracts.Channels.Telegram => (null, TimeSpan.FromHours(48)),
            _ => (null, null),
        };
        (options.EditWindow, options.RecallWindow) = windows;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (EditWindow < TimeSpan.Zero || RecallWindow < TimeSpan.Zero)
        {
            yield return new ValidationResult("EditWindow and RecallWindow must not be negative.", [nameof(EditWindow), nameof(RecallWindow)]);
        }

        if (LatencyMax < LatencyMin)
        {
            yield return new ValidationResult($"LatencyMax ({LatencyMax}) must not be shorter than LatencyMin ({LatencyMin}).", [nameof(LatencyMax)]);
        }

        if (LatencyMax >= Timeout)
        {
            yield return new ValidationResult(
                $"LatencyMax ({LatencyMax}) must be shorter than Timeout ({Timeout}); only a simulated timeout takes that long.", [nameof(LatencyMax)]);
        }

        if (UnreachablePattern is not null && !IsRegex(UnreachablePattern))
        {
            yield return new ValidationResult($"UnreachablePattern '{UnreachablePattern}' is not a valid regular expression.", [nameof(UnreachablePattern)]);
        }

        if (WebhookSecret is not null && !StandardWebhooks.IsValidSecret(WebhookSecret))
        {
            yield return new ValidationResult(
                $"WebhookSecret must be '{StandardWebhooks.SecretPrefix}' followed by a base64 key of at least 16 bytes.", [nameof(WebhookSecret)]);
        }
    }

    private static bool IsRegex(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
