using System.Diagnostics.Metrics;

namespace Chat4All.Files;

/// <summary>Meter <c>Chat4All.Files</c>: bytes in, uploads in flight, assembly time, what the purge removed.</summary>
public sealed class FilesMetrics : IDisposable
{
    public const string MeterName = "Chat4All.Files";

    private readonly Meter _meter;
    private readonly Counter<long> _bytesReceived;
    private readonly Counter<long> _chunks;
    private readonly Counter<long> _initiated;
    private readonly Histogram<double> _assembly;
    private readonly Counter<long> _assemblies;
    private readonly Counter<long> _purgedBytes;
    private readonly Counter<long> _purgedUploads;
    private long _activeUploads;

    public FilesMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _bytesReceived = _meter.CreateCounter<long>("chat4all_files_bytes_received", "By", "Chunk bytes stored");
        _chunks = _meter.CreateCounter<long>("chat4all_files_chunks", description: "Chunk requests by outcome");
        _initiated = _meter.CreateCounter<long>("chat4all_files_uploads_initiated", description: "Uploads initiated");
        _assembly = _meter.CreateHistogram<double>("chat4all_files_assembly_duration", "s", "From the complete request to the file being ready (or failed)");
        _assemblies = _meter.CreateCounter<long>("chat4all_files_assemblies", description: "Finished assemblies by outcome");
        _purgedBytes = _meter.CreateCounter<long>("chat4all_files_purged_bytes", "By", "Bytes of expired uploads removed");
        _purgedUploads = _meter.CreateCounter<long>("chat4all_files_purged_uploads", description: "Expired uploads removed");
        _meter.CreateObservableGauge("chat4all_files_active_uploads", () => Interlocked.Read(ref _activeUploads), description: "Uploads initiated and not yet completed, failed or purged (as last counted)");
    }

    public void UploadInitiated() => _initiated.Add(1);

    public void BytesReceived(long bytes) => _bytesReceived.Add(bytes);

    public void Chunk(string outcome) => _chunks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void AssemblyFinished(string outcome, TimeSpan duration)
    {
        _assemblies.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        _assembly.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
    }

    public void Purged(long uploads, long bytes)
    {
        _purgedUploads.Add(uploads);
        _purgedBytes.Add(bytes);
    }

    public void ObserveActiveUploads(long count) => Interlocked.Exchange(ref _activeUploads, count);

    public void Dispose() => _meter.Dispose();
}
