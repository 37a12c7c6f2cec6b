using System.Diagnostics.Metrics;

namespace Chat4All.Realtime;

/// <summary>Realtime instruments (meter <c>Chat4All.Realtime</c>): connections, frames, overflows, fan-out latency.</summary>
public sealed class RealtimeMetrics
{
    public const string MeterName = "Chat4All.Realtime";

    /// <summary>Realtime's spans (same name as the meter, under the <c>Chat4All.*</c> sources the host records).</summary>
    public static readonly System.Diagnostics.ActivitySource ActivitySource = new(MeterName);

    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _framesIn;
    private readonly Counter<long> _framesOut;
    private readonly Counter<long> _overflows;
    private readonly Counter<long> _closed;
    private readonly Histogram<double> _fanoutLatency;
    private readonly Counter<long> _catchUps;

    public RealtimeMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _connections = meter.CreateUpDownCounter<long>("chat4all.realtime.connections", description: "Open WebSocket connections on this instance");
        _framesIn = meter.CreateCounter<long>("chat4all.realtime.frames_in", description: "Frames received from clients");
        _framesOut = meter.CreateCounter<long>("chat4all.realtime.frames_out", description: "Frames queued to clients");
        _overflows = meter.CreateCounter<long>("chat4all.realtime.send_queue_overflows", description: "Connections closed because they could not keep up");
        _closed = meter.CreateCounter<long>("chat4all.realtime.closed", description: "Connections closed by the server, by close code");
        _fanoutLatency = meter.CreateHistogram<double>("chat4all.realtime.fanout.duration", unit: "s",
            description: "From an event's fan-out publish to its frame being queued on this instance's connection");
        _catchUps = meter.CreateCounter<long>("chat4all.realtime.catch_ups",
            description: "Server-side replays of a conversation on a connection, after a gap in its live frames or a fan-out reconnect");
    }

    public void Opened() => _connections.Add(1);

    public void Gone() => _connections.Add(-1);

    public void FrameIn() => _framesIn.Add(1);

    public void FrameOut() => _framesOut.Add(1);

    public void Overflowed() => _overflows.Add(1);

    public void ClosedByServer(int code) => _closed.Add(1, new KeyValuePair<string, object?>("code", code));

    public void GapDetected() => _catchUps.Add(1);

    public void FannedOut(TimeSpan latency) => _fanoutLatency.Record(latency.TotalSeconds);
}
