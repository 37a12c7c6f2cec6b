using System.Diagnostics;

namespace Chat4All.Bench;

/// <summary>The measured outcome of one workload.</summary>
internal sealed record RunResult(
    string Scenario,
    string Target,
    int Concurrency,
    long Successes,
    long Errors,
    double WindowSeconds,
    double MeanMilliseconds,
    double P50Milliseconds,
    double P95Milliseconds,
    double P99Milliseconds,
    string? FirstError,
    bool CapReached)
{
    public long Requests => Successes + Errors;

    /// <summary>Successful responses per second; failures do not count as throughput.</summary>
    public double RequestsPerSecond => WindowSeconds > 0 ? Successes / WindowSeconds : 0;
}

/// <summary>
/// Closed-loop load: N workers, each sending one request and awaiting its full response before the
/// next, through one shared <see cref="HttpClient"/>. Closed-loop measures what the server sustains
/// at a fixed concurrency (not latency under a fixed arrival rate), which is what a ceiling ratio needs.
/// Raw requests, not the SDK (docs/adr/0054): its retries and rate-limit waits would turn errors into
/// slower successes and hide them from the table.
/// </summary>
internal sealed class LoadGenerator(HttpClient client, TimeSpan warmup, TimeSpan duration, long requestCap)
{
    /// <summary>Hard cap on requests sent per target (warm-up included), whatever the duration.</summary>
    public const long DefaultRequestCap = 5_000_000;

    // Loopback HTTP/1.1 tops out well below this on one machine; it only sizes the preallocation.
    private const long ExpectedMaxRequestsPerSecond = 250_000;

    public async Task<RunResult> RunAsync(Workload workload, CancellationToken cancellationToken)
    {
        var run = new Run(client, workload, requestCap, warmup, duration, InitialCapacity(workload.Concurrency));
        return await run.ExecuteAsync(cancellationToken);
    }

    private int InitialCapacity(int concurrency)
    {
        // Preallocate so List growth (and the large-object copies it causes) stays out of the measured
        // window in the common case; a worker that outruns its estimate still just grows its list.
        var expected = Math.Min(requestCap, (long)Math.Ceiling(duration.TotalSeconds * ExpectedMaxRequestsPerSecond));
        return (int)Math.Clamp(expected / concurrency, 1024, int.MaxValue / 2);
    }

    internal static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    internal static double ToMilliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    internal static double Mean(long[] ticks) => ticks.Length == 0 ? double.NaN : ToMilliseconds(ticks.Sum()) / ticks.Length;

    /// <summary>Nearest-rank percentile of sorted tick counts, in milliseconds; NaN when nothing succeeded.</summary>
    internal static double Percentile(long[] sorted, double quantile)
    {
        return sorted.Length == 0 ? double.NaN : ToMilliseconds(sorted[Percentiles.Rank(sorted.LongLength, quantile)]);
    }

    /// <summary>State of one workload's run; workers write only their own slot, the rest is Interlocked.</summary>
    private sealed class Run(HttpClient client, Workload workload, long requestCap, TimeSpan warmup, TimeSpan duration, int initialCapacity)
    {
        private readonly List<long>[] latencies = new List<long>[workload.Concurrency];
        private readonly long[] errors = new long[workload.Concurrency];
        private long measureStart;
        private long measureEnd;
        private long sent;
        private long capReachedAt;
        private string? firstError;
        private RateLimitedException? rateLimited;

        public async Task<RunResult> ExecuteAsync(CancellationToken cancellationToken)
        {
            // A 429 in any worker stops all of them (see Workload.CheckAsync); the user's token stays untouched.
            using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            for (var i = 0; i < latencies.Length; i++)
            {
                latencies[i] = new List<long>(initialCapacity);
            }

            // Warm-up and measurement are one continuous run (no reconnect or ramp between them);
            // a response counts only if it completes inside [measureStart, measureEnd].
            measureStart = Stopwatch.GetTimestamp() + ToTicks(warmup);
            measureEnd = measureStart + ToTicks(duration);

            var workers = new Task[workload.Concurrency];
            for (var i = 0; i < workers.Length; i++)
            {
                var index = i;
                workers[i] = Task.Run(() => WorkAsync(index, abort), CancellationToken.None);
            }

            await Task.WhenAll(workers);
            if (rateLimited is not null)
            {
                throw rateLimited;
            }

            return Summarize();
        }

        private async Task WorkAsync(int index, CancellationTokenSource abort)
        {
            var cancellationToken = abort.Token;
            var recorded = latencies[index];
            // Worker i takes requests i, i+N, i+2N, ... so demo users rotate across all workers.
            for (long sequence = index; !cancellationToken.IsCancellationRequested; sequence += workload.Concurrency)
            {
                var start = Stopwatch.GetTimestamp();
                if (start >= measureEnd)
                {
                    return;
                }

                if (Interlocked.Increment(ref sent) > requestCap)
                {
                    Interlocked.CompareExchange(ref capReachedAt, start, 0);
                    return;
                }

                string? failure;
                try
                {
                    using var request = workload.CreateRequest(sequence);
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                    failure = await workload.CheckAsync(response, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return; // interrupted by the user or by a 429 elsewhere: abandoned, not failed
                }
                catch (RateLimitedException ex)
                {
                    Interlocked.CompareExchange(ref rateLimited, ex, null);
                    await abort.CancelAsync();
                    return;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    // TaskCanceledException without our token cancelled is HttpClient.Timeout.
                    failure = ex.GetType().Name + ": " + ex.Message;
                }

                var end = Stopwatch.GetTimestamp();
                if (end < measureStart)
                {
                    continue; // warm-up
                }

                if (end > measureEnd)
                {
                    return; // finished after the window closed; counting it would inflate the rate
                }

                if (failure is null)
                {
                    recorded.Add(end - start);
                }
                else
                {
                    errors[index]++;
                    Interlocked.CompareExchange(ref firstError, failure, null);
                }
            }
        }

        private RunResult Summarize()
        {
            var all = new long[latencies.Sum(l => (long)l.Count)];
            var offset = 0;
            foreach (var list in latencies)
            {
                list.CopyTo(all, offset);
                offset += list.Count;
            }

            Array.Sort(all);

            // If the request cap stopped the run early, the window ends there. Responses already in
            // flight at that moment are still counted: at most one per worker against millions.
            var capReached = Interlocked.Read(ref capReachedAt) != 0;
            var windowEnd = capReached ? Math.Min(capReachedAt, measureEnd) : measureEnd;
            var windowSeconds = Math.Max(0, windowEnd - measureStart) / (double)Stopwatch.Frequency;

            return new RunResult(
                workload.Scenario,
                workload.Target,
                workload.Concurrency,
                all.LongLength,
                errors.Sum(),
                windowSeconds,
                Mean(all),
                Percentile(all, 0.50),
                Percentile(all, 0.95),
                Percentile(all, 0.99),
                firstError,
                capReached);
        }
    }
}
