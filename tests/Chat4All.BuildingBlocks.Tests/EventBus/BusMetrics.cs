using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

/// <summary>
/// Counts the <c>Chat4All.EventBus</c> measurements of one host only (meters scoped to its
/// <see cref="IMeterFactory"/>), so tests running in parallel do not see each other's events.
/// </summary>
public sealed class BusMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public BusMetrics(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Chat4All.EventBus" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _counts.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        _listener.SetMeasurementEventCallback<double>((instrument, _, _, _) => _counts.AddOrUpdate(instrument.Name, 1, (_, count) => count + 1));
        _listener.Start();
    }

    /// <summary>A counter's sum, or how many values a histogram recorded.</summary>
    public long this[string instrument] => _counts.GetValueOrDefault(instrument);

    public void Dispose() => _listener.Dispose();
}
