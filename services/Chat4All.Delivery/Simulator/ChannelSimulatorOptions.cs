using System.ComponentModel.DataAnnotations;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// Settings shared by the simulated providers of every channel, bound from
/// <c>Chat4All:Delivery:Simulator</c>. Per-channel behaviour is in <see cref="SimulatedChannelOptions"/>.
/// </summary>
public sealed class ChannelSimulatorOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Delivery:Simulator";

    /// <summary>Prefix of every Redis key the simulator uses (<see cref="SimulatorKeys"/>); tests isolate themselves with a unique one.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_.:-]+$")]
    public string KeyPrefix { get; set; } = "chat4all";

    /// <summary>
    /// Where the provider POSTs webhooks: <c>{WebhookBaseUrl}/v1/webhooks/{channel}</c>. Unset: this
    /// host's own listening address (a wildcard binding is reached through 127.0.0.1).
    /// </summary>
    public Uri? WebhookBaseUrl { get; set; }

    /// <summary>How long the provider remembers a delivery id it accepted, answering a resend with the same provider message id.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// The shortest wait of an idle dispatcher. It sleeps until the earliest queued webhook is due,
    /// and this process's sends wake it sooner.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.005", "00:01:00")]
    public TimeSpan CallbackPollInterval { get; set; } = TimeSpan.FromMilliseconds(75);

    /// <summary>The longest an idle dispatcher sleeps: how late it sees webhooks another instance queued.</summary>
    [Range(typeof(TimeSpan), "00:00:00.005", "00:10:00")]
    public TimeSpan CallbackMaxIdleWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Webhooks one instance POSTs at once (and so claims per poll at most).</summary>
    [Range(1, 1024)]
    public int CallbackConcurrency { get; set; } = 32;

    /// <summary>
    /// How long a webhook POST may take. A claimed webhook whose instance died is POSTed again by
    /// another instance after twice this, so receivers must dedupe by <c>webhook-id</c> (as the
    /// Standard Webhooks spec asks anyway).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan CallbackTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>POSTs of one webhook before it is dropped (logged): the first try plus retries.</summary>
    [Range(1, 100)]
    public int CallbackMaxAttempts { get; set; } = 8;

    /// <summary>Delay before the first retry of a failed webhook; each further retry doubles it (1 s, 2 s, 4 s ... up to <see cref="CallbackMaxRetryDelay"/>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan CallbackInitialRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan CallbackMaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (WebhookBaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            yield return new ValidationResult($"{SectionName}:WebhookBaseUrl ({url}) must be an absolute http(s) URL.", [nameof(WebhookBaseUrl)]);
        }

        if (CallbackMaxRetryDelay < CallbackInitialRetryDelay)
        {
            yield return new ValidationResult($"{SectionName}:CallbackMaxRetryDelay must not be shorter than CallbackInitialRetryDelay.", [nameof(CallbackMaxRetryDelay)]);
        }
    }
}
