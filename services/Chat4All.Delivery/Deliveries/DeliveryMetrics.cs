using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Chat4All.Contracts;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.Deliveries;

/// <summary>
/// Per-channel delivery instruments (meter <c>Chat4All.Delivery</c>) and the breakers they report
/// on: attempts by outcome, provider latency, status transitions, circuit state, dead letters.
/// </summary>
public sealed class DeliveryMetrics
{
    public const string MeterName = "Chat4All.Delivery";

    private readonly Counter<long> _attempts;
    private readonly Histogram<double> _sendDuration;
    private readonly Counter<long> _statuses;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _fallbacks;
    private readonly ConcurrentDictionary<string, ChannelCircuitBreaker> _breakers = new(StringComparer.Ordinal);
    private readonly DeliveryOptions _options;
    private readonly TimeProvider _time;

    public DeliveryMetrics(IMeterFactory meterFactory, IOptions<DeliveryOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        var meter = meterFactory.Create(MeterName);
        _attempts = meter.CreateCounter<long>("chat4all.delivery.attempts", description: "Provider calls by channel and outcome (accepted, transient, permanent, circuit_open)");
        _sendDuration = meter.CreateHistogram<double>("chat4all.delivery.send.duration", unit: "s", description: "Provider call latency by channel");
        _statuses = meter.CreateCounter<long>("chat4all.delivery.status_changes", description: "Delivery status transitions by channel and new status");
        _deadLetters = meter.CreateCounter<long>("chat4all.delivery.dead_letters", description: "Deliveries that failed for good, by channel");
        _fallbacks = meter.CreateCounter<long>("chat4all.delivery.fallbacks", description: "Fallback deliveries created, by failed channel and fallback channel");
        meter.CreateObservableGauge("chat4all.delivery.circuit.state", ObserveCircuits, description: "Circuit breaker per channel: 0 closed, 1 half-open, 2 open");

        // Every channel's dead-letter series exists from the start at 0: Prometheus' increase() counts
        // from a sample it has seen, so a series born at 1 would hide the first dead letters from alerts.
        foreach (var channel in Channels.All)
        {
            _deadLetters.Add(0, new KeyValuePair<string, object?>("channel", channel));
        }
    }

    /// <summary>The breaker of <paramref name="channel"/> on this instance.</summary>
    public ChannelCircuitBreaker Breaker(string channel) =>
        _breakers.GetOrAdd(channel, _ => new ChannelCircuitBreaker(_options.BreakerFailureThreshold, _options.BreakDuration, _time));

    public void Attempted(string channel, string outcome, TimeSpan duration)
    {
        _attempts.Add(1, new("channel", channel), new("outcome", outcome));
        if (outcome != "circuit_open")
        {
            _sendDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("channel", channel));
        }
    }

    public void StatusChanged(string channel, string status) => _statuses.Add(1, new("channel", channel), new("status", status));

    public void DeadLettered(string channel) => _deadLetters.Add(1, new KeyValuePair<string, object?>("channel", channel));

    public void FellBack(string from, string to) => _fallbacks.Add(1, new("channel", from), new("fallback", to));

    private IEnumerable<Measurement<int>> ObserveCircuits() =>
        Channels.All.Select(c => new Measurement<int>((int)Breaker(c).State, new KeyValuePair<string, object?>("channel", c)));
}
