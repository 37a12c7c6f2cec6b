using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Chat4All.Bench;

/// <summary>
/// One large file through the files API per entry of <see cref="Settings.UploadParallelism"/>:
/// initiate (with the whole file's SHA-256), every chunk <c>POST</c>ed with that many requests in
/// flight, complete, then wait until the assembled file is <c>completed</c>. Beside it, in the same
/// run, <c>dd</c> writes the same number of bytes to the directory the host keeps its blobs in (same
/// disk), once with a single flush at the end and once flushing every block as the blob store flushes
/// every chunk. The host's resident memory is sampled from <c>/proc</c> throughout.
/// </summary>
internal sealed class UploadsScenario : IBenchScenario
{
    private const long BytesPerMiB = 1024 * 1024;

    private static readonly Option<int> FileSize = BenchOption.Int("--file-size", "file size in MiB (2048 = 2 GiB, the API's maximum)", 2048, 1, 2048);

    private static readonly Option<int> ChunkSize = BenchOption.Int("--chunk-size", "chunk size in MiB, as the API allows", 8, 5, 50);

    private static readonly Option<IReadOnlyList<int>> Parallel = BenchOption.IntList("--parallel", "chunk requests in flight, one run each", [1, 4], 1, 64);

    private static readonly Option<string?> DdDirectory = BenchOption.Text("--dd-dir",
        "where dd writes the same number of bytes for comparison, then deletes them (default: the folder of the demo users file, the host's data directory)");

    private static readonly Option<Uri?> FilesUrlOption = BenchOption.LoopbackUrl("--files-url",
        "a host serving the files target on its own (default: --url); tokens and the conversation still come from --url", null);

    // Set by RunAsync: a scenario runs once per process.
    private Settings options = null!;
    private ScenarioReport report = null!;
    private HttpClient client = null!;
    private IReadOnlyList<DemoUser> users = [];
    private string usersPath = "";

    public string Name => "uploads";

    public string Description =>
        "one large file through the files API (initiate, POST every chunk, complete, wait for completed), sequential\n" +
        "and parallel chunks, beside dd writing as many bytes; the host's peak RSS. Rate limiting off (a 2 GiB file is\n" +
        "256 chunk requests).";

    public IReadOnlyList<Option> Options => [FileSize, ChunkSize, Parallel, DdDirectory, FilesUrlOption, CommonOptions.HostPid];

    // The chunk requests in flight plus setup and status polls.
    public int HttpConcurrency(ParseResult parsed) => parsed.GetValue(Parallel)!.Max() + 2;

    public Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken)
    {
        report = run.Report;
        options = new Settings(run.Url, parsed.GetValue(FileSize) * BytesPerMiB, (int)(parsed.GetValue(ChunkSize) * BytesPerMiB), parsed.GetValue(Parallel)!,
            parsed.GetValue(DdDirectory), parsed.GetValue(FilesUrlOption), parsed.GetValue(CommonOptions.HostPid));
        client = run.Client;
        users = run.Users;
        usersPath = run.UsersPath;
        return RunScenarioAsync(cancellationToken);
    }

    internal sealed record Settings(Uri Url, long FileSizeBytes, int ChunkSizeBytes, IReadOnlyList<int> UploadParallelism, string? DdDirectory,
        Uri? FilesUrl, int? HostPid);

    /// <summary>The bound the issue sets on the host's memory during a 2 GiB upload.</summary>
    private const long TargetPeakRssBytes = 300L * 1024 * 1024;

    private const string FilesScope = "files";
    private const string InitiatePath = "v1/files/initiate";
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan AssemblyTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan MembershipWait = TimeSpan.FromSeconds(30);

    private static readonly string[] Headers =
        ["Run", "Size", "Chunks", "In flight", "Seconds", "MB/s", "vs dd", "vs dd (flush per block)", "Chunk p50 ms", "Chunk p99 ms", "Assembly s", "Host peak RSS MiB"];

    private static readonly bool[] RightAligned = [false, true, true, true, true, true, true, true, true, true, true, true];

    private readonly List<string> notes = [];

    private Uri FilesUrl => options.FilesUrl ?? options.Url;

    private async Task<int> RunScenarioAsync(CancellationToken cancellationToken)
    {
        var members = users.Where(u => u.HasScope(FilesScope) && !u.HasScope(MessagesScenario.AdminScope) && !string.IsNullOrEmpty(u.UserId)).ToList();
        if (members.Count < 3)
        {
            await Console.Error.WriteLineAsync($"The uploads scenario needs three demo users with a user_id and the '{FilesScope}' scope; the users file has " +
                members.Count.ToString(CultureInfo.InvariantCulture) + ". Use the demo-users.json the host writes (scripts/run.sh reseeds it).");
            return 1;
        }

        var host = HostProcess.Find(options.HostPid, FilesUrl, out var hostError);
        if (host is null)
        {
            await Console.Error.WriteLineAsync("The uploads scenario reads the host's memory from /proc: " + hostError + ".");
            return 1;
        }

        // The data directory the host writes demo-users.json to holds its blobs folder by default: same disk.
        var ddDirectory = options.DdDirectory ?? Path.GetDirectoryName(usersPath)!;
        if (!Directory.Exists(ddDirectory))
        {
            await Console.Error.WriteLineAsync("--dd-dir " + ddDirectory + " does not exist; pass a directory on the disk the host keeps its blobs on (Chat4All:Storage:Directory:Path).");
            return 1;
        }

        var token = string.Empty;
        var conversationId = string.Empty;
        if (await ScenarioSetup.RunAsync(options.Url, async () =>
            {
                token = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, members[0], cancellationToken);
                // A new group every run: a private conversation is reused for the same pair, and one made
                // under an older event-bus prefix was never announced to this host's files service.
                conversationId = await Chat4AllApi.CreateConversationAsync(client, options.Url, token, "group", [members[1].UserId!, members[2].UserId!], cancellationToken);
            }, cancellationToken) is { } setupFailed)
        {
            return setupFailed;
        }

        var content = new SyntheticFile(options.FileSizeBytes, options.ChunkSizeBytes);
        Progress("hashing the " + MiB(content.Length) + " MiB synthetic file (not timed)");
        var sha256 = content.Sha256();

        // Printed only once the setup works, so a failed preflight leaves stdout empty.
        report.Line(MachineInfo.Describe());
        var rows = new List<string[]>();
        try
        {
            var dd = await DdAsync(ddDirectory, content, perBlockFlush: false, cancellationToken);
            var ddFlushed = await DdAsync(ddDirectory, content, perBlockFlush: true, cancellationToken);
            rows.Add(["dd, one flush at the end", MiB(content.Length) + " MiB", "-", "-", Seconds(dd), Rate(content.Length, dd), "1.00", "-", "-", "-", "-", "-"]);
            rows.Add(["dd, flush per block", MiB(content.Length) + " MiB", "-", "-", Seconds(ddFlushed), Rate(content.Length, ddFlushed), "-", "1.00", "-", "-", "-", "-"]);

            foreach (var parallelism in options.UploadParallelism)
            {
                Progress($"uploading {MiB(content.Length)} MiB in {content.ChunkCount} chunks of {MiB(content.ChunkSize)} MiB, {parallelism} in flight");
                GC.Collect();
                var run = await UploadOnceAsync(host, token, conversationId, content, sha256, parallelism, cancellationToken);
                Progress($"  {Rate(content.Length, run.Upload)} MB/s, assembled in {Seconds(run.Assembly)} s, host peak RSS {MiB(run.PeakRss)} MiB");
                rows.Add([
                    parallelism == 1 ? "Chat4All, sequential" : "Chat4All, parallel", MiB(content.Length) + " MiB", ResultTable.Format(content.ChunkCount),
                    ResultTable.Format(parallelism), Seconds(run.Upload), Rate(content.Length, run.Upload),
                    ResultTable.Ratio(dd / run.Upload), ResultTable.Ratio(ddFlushed / run.Upload),
                    ResultTable.Milliseconds(Percentiles.Of(run.ChunkMilliseconds, 0.50)), ResultTable.Milliseconds(Percentiles.Of(run.ChunkMilliseconds, 0.99)),
                    Seconds(run.Assembly), MiB(run.PeakRss) + (run.PeakRss < TargetPeakRssBytes ? string.Empty : " (over 300)"),
                ]);
                notes.Add($"{parallelism} in flight: host RSS {MiB(run.BaselineRss)} MiB before the upload, peak {MiB(run.PeakRss)} MiB during upload and assembly; " +
                    $"file {run.FileId} verified by the service ({run.Sha256Check}).");
            }
        }
        catch (Exception ex) when (ex is RateLimitedException or HttpRequestException or InvalidOperationException or IOException)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }

        report.Line();
        report.Table(Headers, RightAligned, rows);
        report.Line();
        report.Line("MB/s = 10^6 bytes per second of upload wall time: first chunk sent to last chunk stored (HTTP/1.1 over loopback, one connection per chunk in flight). " +
            "\"vs dd\" = dd's time over the upload's time on the same disk in the same run (1.00 = as fast as dd). dd writes from /dev/zero with bs = the chunk size into --dd-dir " +
            "(default: the host's data directory, which holds its blobs), then the file is removed. The blob store flushes every chunk to disk (fsync) before answering.");
        report.Line("Assembly = complete (202) to status completed, polled every 50 ms: verify chunks, compose (a rename in directory mode), SHA-256 of the whole file, " +
            "magic-byte check, file row + file.uploaded, staging cleanup.");
        report.Line("Files API at " + FilesUrl + (options.FilesUrl is null ? " (the host serving every target)" : " (a host serving the files target alone; tokens and the conversation from " + options.Url + ")") + ".");
        report.Line("Host peak RSS = the highest VmRSS of " + host.How + " (pid " + host.Pid.ToString(CultureInfo.InvariantCulture) + ") sampled every 50 ms during upload and assembly; " +
            "target under 300 MiB. The client generates chunk bytes on the fly (nothing is held whole on either side) and shares the machine's cores with the host.");
        foreach (var note in notes)
        {
            report.Line(note);
        }

        report.Line("The uploaded files stay in the host's blob store; each run adds " + MiB(content.Length * options.UploadParallelism.Count) + " MiB.");
        if (MachineInfo.DescribeLoadAtEnd() is { } load)
        {
            report.Line(load);
        }

        return 0;
    }

    private async Task<UploadRun> UploadOnceAsync(
        HostProcess host, string token, string conversationId, SyntheticFile content, string sha256, int parallelism, CancellationToken cancellationToken)
    {
        var uploadId = await InitiateAsync(token, conversationId, content, sha256, cancellationToken);
        var baseline = host.Sample()?.RssBytes ?? 0;
        using var sampling = new CancellationTokenSource();
        var sampler = SamplePeakRssAsync(host, baseline, sampling.Token);

        var next = 0;
        var latencies = new double[content.ChunkCount];
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, parallelism).Select(_ => Task.Run(async () =>
        {
            var buffer = new byte[content.ChunkSize];
            int number;
            while ((number = Interlocked.Increment(ref next)) <= content.ChunkCount)
            {
                var length = content.Fill(number, buffer);
                var sent = Stopwatch.GetTimestamp();
                await PostChunkAsync(token, uploadId, number, buffer.AsMemory(0, length), cancellationToken);
                latencies[number - 1] = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
            }
        }, cancellationToken)).ToList();
        await Task.WhenAll(workers);
        var upload = Stopwatch.GetElapsedTime(started).TotalSeconds;

        var assemblyStarted = Stopwatch.GetTimestamp();
        using (var complete = await SendAsync(HttpMethod.Post, $"v1/files/{uploadId}/complete", token, null, cancellationToken))
        {
            await ExpectAsync(complete, HttpStatusCode.Accepted, "complete", cancellationToken);
        }

        var (fileId, reportedSha256) = await WaitUntilCompletedAsync(token, uploadId, cancellationToken);
        var assembly = Stopwatch.GetElapsedTime(assemblyStarted).TotalSeconds;
        await sampling.CancelAsync();
        var peak = await sampler;
        if (!string.Equals(reportedSha256, sha256, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The service reports SHA-256 {reportedSha256} for file {fileId}, not {sha256}: the upload was corrupted.");
        }

        Array.Sort(latencies);
        return new UploadRun(upload, assembly, baseline, peak, latencies, fileId, "SHA-256 " + sha256[..12] + "… matches");
    }

    private async Task<string> InitiateAsync(string token, string conversationId, SyntheticFile content, string sha256, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["conversation_id"] = conversationId,
            ["filename"] = "bench-" + MiB(content.Length) + "MiB.bin",
            ["file_size"] = content.Length,
            ["mime_type"] = "application/octet-stream",
            ["chunk_size"] = content.ChunkSize,
            ["checksum_sha256"] = sha256,
        });

        // The files service learns of a new conversation from conversation.created; until then it answers 404.
        var deadline = DateTime.UtcNow + MembershipWait;
        while (true)
        {
            using var response = await SendAsync(HttpMethod.Post, InitiatePath, token, new StringContent(body, Encoding.UTF8, "application/json"), cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, cancellationToken);
                continue;
            }

            var text = await ExpectAsync(response, HttpStatusCode.Created, "initiate", cancellationToken);
            using var json = JsonDocument.Parse(text);
            return json.RootElement.GetProperty("upload_id").GetString()!;
        }
    }

    private async Task PostChunkAsync(string token, string uploadId, int number, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var content = new ReadOnlyMemoryContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await SendAsync(HttpMethod.Post, $"v1/files/{uploadId}/chunks?chunk_number={number}", token, content, cancellationToken);
        await ExpectAsync(response, HttpStatusCode.OK, "chunk " + number.ToString(CultureInfo.InvariantCulture), cancellationToken);
    }

    private async Task<(string FileId, string? Sha256)> WaitUntilCompletedAsync(string token, string uploadId, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + AssemblyTimeout;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await SendAsync(HttpMethod.Get, $"v1/files/{uploadId}/status", token, null, cancellationToken);
            using var status = JsonDocument.Parse(await ExpectAsync(response, HttpStatusCode.OK, "status", cancellationToken));
            switch (status.RootElement.GetProperty("status").GetString())
            {
                case "completed":
                    var fileId = status.RootElement.GetProperty("file_id").GetString()!;
                    using (var metadata = await SendAsync(HttpMethod.Get, $"v1/files/{fileId}", token, null, cancellationToken))
                    {
                        using var file = JsonDocument.Parse(await ExpectAsync(metadata, HttpStatusCode.OK, "file metadata", cancellationToken));
                        return (fileId, file.RootElement.TryGetProperty("checksum_sha256", out var sha) ? sha.GetString() : null);
                    }

                case "failed":
                    throw new InvalidOperationException("The upload failed: " + status.RootElement.GetProperty("failure_reason").GetString());
            }

            await Task.Delay(50, cancellationToken);
        }

        throw new InvalidOperationException($"The upload was not assembled within {AssemblyTimeout.TotalMinutes} minutes.");
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(FilesUrl, path)) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return await client.SendAsync(request, cancellationToken);
    }

    private static async Task<string> ExpectAsync(HttpResponseMessage response, HttpStatusCode expected, string what, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            throw RateLimitedException.From(response);
        }

        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{what} returned {(int)response.StatusCode}, expected {(int)expected}: {Chat4AllApi.Excerpt(body)}");
        }

        return body;
    }

    private static async Task<long> SamplePeakRssAsync(HostProcess host, long baseline, CancellationToken stop)
    {
        var peak = baseline;
        using var timer = new PeriodicTimer(SampleInterval);
        try
        {
            do
            {
                if (host.Sample() is { } sample)
                {
                    peak = Math.Max(peak, sample.RssBytes);
                }
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
            // stopped: the last reading is in
        }

        return host.Sample() is { } last ? Math.Max(peak, last.RssBytes) : peak;
    }

    private static async Task<double> DdAsync(string directory, SyntheticFile content, bool perBlockFlush, CancellationToken cancellationToken)
    {
        var target = Path.Combine(directory, "bench-dd-" + Guid.NewGuid().ToString("N")[..8] + ".bin");
        var blocks = (content.Length + content.ChunkSize - 1) / content.ChunkSize;
        var info = new ProcessStartInfo("dd") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[]
        {
            "if=/dev/zero", "of=" + target, "bs=" + content.ChunkSize.ToString(CultureInfo.InvariantCulture),
            "count=" + blocks.ToString(CultureInfo.InvariantCulture), perBlockFlush ? "oflag=dsync" : "conv=fdatasync",
        })
        {
            info.ArgumentList.Add(argument);
        }

        Progress("dd " + string.Join(' ', info.ArgumentList));
        try
        {
            var started = Stopwatch.GetTimestamp();
            using var dd = Process.Start(info) ?? throw new IOException("Could not start dd.");
            var errors = dd.StandardError.ReadToEndAsync(cancellationToken);
            await dd.WaitForExitAsync(cancellationToken);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (dd.ExitCode != 0)
            {
                throw new IOException("dd failed: " + await errors);
            }

            Progress($"  {Rate(content.Length, seconds)} MB/s");
            return seconds;
        }
        finally
        {
            File.Delete(target);
        }
    }

    private static string MiB(long bytes) => (bytes / (1024.0 * 1024)).ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(double seconds) => seconds.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Rate(long bytes, double seconds) => (bytes / 1e6 / seconds).ToString("N0", CultureInfo.InvariantCulture);

    private static void Progress(string message) => Console.Error.WriteLine("[bench] " + message);

    /// <summary>One upload; <see cref="ChunkMilliseconds"/> sorted.</summary>
    private sealed record UploadRun(double Upload, double Assembly, long BaselineRss, long PeakRss, double[] ChunkMilliseconds, string FileId, string Sha256Check);

    /// <summary>
    /// A file of any size that is never held whole: one random block of chunk size, and chunk N is that
    /// block with N stamped into every 4 KiB page, so chunks differ and the file hashes the same every run.
    /// </summary>
    private sealed class SyntheticFile
    {
        private const int Page = 4096;
        private readonly byte[] _block;

        public SyntheticFile(long length, int chunkSize)
        {
            Length = length;
            ChunkSize = chunkSize;
            ChunkCount = (int)((length + chunkSize - 1) / chunkSize);
            _block = new byte[chunkSize];
            new Random(20261124).NextBytes(_block);
        }

        public long Length { get; }

        public int ChunkSize { get; }

        public int ChunkCount { get; }

        /// <summary>Writes chunk <paramref name="number"/> (1-based) into <paramref name="buffer"/>; returns its length.</summary>
        public int Fill(int number, byte[] buffer)
        {
            var length = (int)Math.Min(ChunkSize, Length - ((long)(number - 1) * ChunkSize));
            _block.AsSpan(0, length).CopyTo(buffer);
            for (var page = 0; page + sizeof(int) <= length; page += Page)
            {
                BitConverter.TryWriteBytes(buffer.AsSpan(page), number);
            }

            return length;
        }

        public string Sha256()
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[ChunkSize];
            for (var number = 1; number <= ChunkCount; number++)
            {
                hash.AppendData(buffer, 0, Fill(number, buffer));
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }
}
