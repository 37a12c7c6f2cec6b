namespace Chat4All.Delivery.Simulator;

/// <summary>
/// The Redis key layout of the simulated providers. Public because tests, benchmarks and operators
/// inspect these keys.
/// </summary>
public static class SimulatorKeys
{
    /// <summary><c>{prefix}:sim:{channel}:sent:{deliveryId}</c> — the provider message id a delivery was accepted as (expires after the idempotency window).</summary>
    public static string Sent(string prefix, string channel, Guid deliveryId) => $"{prefix}:sim:{channel}:sent:{deliveryId:N}";

    /// <summary>
    /// <c>{prefix}:sim:{channel}:msg:{providerMessageId}</c> — hash of the message as the provider holds it:
    /// <c>sent_at</c> (unix ms), <c>text</c> (absent once recalled), <c>recalled_at</c>. Expires with the idempotency window.
    /// </summary>
    public static string Message(string prefix, string channel, string providerMessageId) => $"{prefix}:sim:{channel}:msg:{providerMessageId}";

    /// <summary><c>{prefix}:sim:{channel}:changes:{providerMessageId}</c> — list of the edits and recalls applied to the message (JSON), oldest first.</summary>
    public static string Changes(string prefix, string channel, string providerMessageId) => $"{prefix}:sim:{channel}:changes:{providerMessageId}";

    /// <summary><c>{prefix}:sim:{channel}:change:{changeId}</c> — present once that change was applied, so a repeat applies nothing.</summary>
    public static string Change(string prefix, string channel, Guid changeId) => $"{prefix}:sim:{channel}:change:{changeId:N}";

    /// <summary><c>{prefix}:sim:{channel}:accepted</c> — how many distinct provider messages sends created.</summary>
    public static string Accepted(string prefix, string channel) => $"{prefix}:sim:{channel}:accepted";

    /// <summary><c>{prefix}:sim:{channel}:outage</c> — present while the channel's outage switch is on.</summary>
    public static string Outage(string prefix, string channel) => $"{prefix}:sim:{channel}:outage";

    /// <summary><c>{prefix}:sim:{channel}:rate</c> — sends admitted in the current one-second window (expires with it).</summary>
    public static string RateWindow(string prefix, string channel) => $"{prefix}:sim:{channel}:rate";

    /// <summary>
    /// <c>{prefix}:sim:callbacks</c> — sorted set of webhooks to POST, every channel's; member = the
    /// webhook as JSON, score = when it is due (unix ms). A claimed member is re-scored to its
    /// claim's expiry, and removed once POSTed.
    /// </summary>
    public static string Callbacks(string prefix) => $"{prefix}:sim:callbacks";
}
