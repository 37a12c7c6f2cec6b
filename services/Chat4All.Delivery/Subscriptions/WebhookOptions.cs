using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Chat4All.Delivery.Subscriptions;

/// <summary>Outbound webhooks (event subscriptions), bound from <c>Chat4All:Webhooks</c>; see docs/adr/0050-outbound-webhooks.md.</summary>
public sealed class WebhookOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Webhooks";

    /// <summary>
    /// Host names or IP addresses a subscription may target whatever they resolve to (an operator's
    /// explicit trust, e.g. an integration running on the same machine). Everything else must resolve
    /// only to public addresses.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Whether private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are valid targets; loopback, link-local, multicast and unspecified never are.</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>First retry delay; each further failure of the same delivery doubles it, with ±20 % jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>No retry waits longer than this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A receiver that has not answered within this counts as a failure (<c>timeout</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an instance owns a delivery it is sending; a crashed instance's claims expire after this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often each instance looks for due deliveries when nothing woke it (enqueues on the same instance wake it at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Deliveries sent at once by one instance.</summary>
    [Range(1, 1000)]
    public int MaxConcurrency { get; set; } = 32;

    /// <summary>A subscription whose attempts failed this many times in a row (no success in between) is disabled.</summary>
    [Range(1, 10_000)]
    public int DisableAfterConsecutiveFailures { get; set; } = 20;

    /// <summary>A subscription failing (no success) for longer than this is disabled, however few attempts that was.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan DisableAfterFailingFor { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Subscriptions one user may own (tenant-wide ones included).</summary>
    [Range(1, 1000)]
    public int MaxSubscriptionsPerUser { get; set; } = 25;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ClaimDuration <= AttemptTimeout)
        {
            yield return new ValidationResult(
                $"{SectionName}:ClaimDuration ({ClaimDuration}) must be longer than AttemptTimeout ({AttemptTimeout}), or a slow attempt could be sent twice at once.",
                [nameof(ClaimDuration), nameof(AttemptTimeout)]);
        }

        if (MaxRetryDelay < InitialRetryDelay)
        {
            yield return new ValidationResult($"{SectionName}:MaxRetryDelay must not be shorter than InitialRetryDelay.", [nameof(MaxRetryDelay)]);
        }

        foreach (var host in AllowedHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || (Uri.CheckHostName(host) is UriHostNameType.Unknown && !IPAddress.TryParse(host, out _)))
            {
                yield return new ValidationResult($"{SectionName}:AllowedHosts entry '{host}' is not a host name or an IP address.", [nameof(AllowedHosts)]);
            }
        }
    }
}
