using System.Diagnostics;

namespace Chat4All.Bench;

/// <summary>One open-loop run: the offered rate, the usual result, and why requests never got a response.</summary>
internal sealed record OpenLoopResult(double OfferedPerSecond, RunResult Run, long Dropped, long Late);

/// <summary>
/// Open-loop load: a dispatcher starts request k at <c>origin + k / rate</c>, whether or not earlier
/// requests have finished, the way independent users arrive. Latency runs from the scheduled start,
/// not the actual one, so a server that stalls is charged for every request that queued behind the
/// stall (no coordinated omission). A request due while <c>maxInFlight</c> are outstanding is dropped,
/// and one the dispatcher reaches more than <see cref="LateStartLimit"/> after its slot (the client
/// itself fell behind) is skipped; both count as errors, so the offered load is never quietly lowered.
/// Raw requests, not the SDK (docs/adr/0054): a retry would send a slot twice and hide its error.
/// </summary>
internal sealed class OpenLoopGenerator(HttpClient client, TimeSpan warmup, TimeSpan duration, int maxInFlight, long requestCap)
{
    /// <summary>How far behind its slot the dispatcher may start a request before it counts the slot as missed.</summary>
    public static readonly TimeSpan LateStartLimit = TimeSpan.FromMilliseconds(100);

    /// <summary>Hard bound on the arrival rate, whatever the measured peak says.</summary>
    public const double MaxRatePerSecond = 100_000;

    public async Task<OpenLoopResult> RunAsync(Workload workload, double ratePerSecond, CancellationToken cancellationToken)
    {
        if (ratePerSecond is <= 0 or > MaxRatePerSecond || double.IsNaN(ratePerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, $"The offered rate must be above 0 and at most {MaxRatePerSecond:0}/s.");
        }

        var run = new Run(client, workload, ratePerSecond, warmup, duration, maxInFlight, requestCap);
        return await run.ExecuteAsync(cancellationToken);
    }

    private sealed class Run
    {
        // Slot outcomes besides a latency (which is always >= 1 tick).
        private const long Pending = 0;
        private const long Failed = -1;
        private const long Dropped = -2;
        private const long Late = -3;
        private const long Abandoned = -4;

        private readonly HttpClient client;
        private readonly Workload workload;
        private readonly double rate;
        private readonly int maxInFlight;
        private readonly long warmupSlots;
        private readonly long[] measured;
        private readonly bool capReached;
        private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long inFlight;
        private long outstanding = 1; // the dispatcher holds one until it has scheduled every slot
        private CancellationTokenSource abort = null!;
        private string? firstError;
        private Exception? stopper; // a 429, or a bug in the bench: ends the run and is rethrown

        public Run(HttpClient client, Workload workload, double rate, TimeSpan warmup, TimeSpan duration, int maxInFlight, long requestCap)
        {
            this.client = client;
            this.workload = workload;
            this.rate = rate;
            this.maxInFlight = maxInFlight;
            warmupSlots = (long)Math.Ceiling(warmup.TotalSeconds * rate);
            var measuredSlots = Math.Max(1, (long)Math.Round(duration.TotalSeconds * rate));
            var allowed = Math.Max(1, requestCap - warmupSlots);
            capReached = measuredSlots > allowed;
            measured = new long[Math.Min(measuredSlots, allowed)];
        }

        public async Task<OpenLoopResult> ExecuteAsync(CancellationToken cancellationToken)
        {
            // Cancelled by the user, or by a 429 in any request; the user's token stays untouched.
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            abort = linked;

            // A dedicated thread, because a dispatcher queued behind busy pool threads would start late
            // exactly when the server is slow, which is the moment the schedule matters most.
            var dispatcher = Task.Factory.StartNew(
                () => Dispatch(abort.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await dispatcher;
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                drained.TrySetResult();
            }

            // Every request is bounded by HttpClient.Timeout, so this wait is too.
            await drained.Task;
            if (stopper is not null)
            {
                throw stopper;
            }

            return Summarize();
        }

        private void Dispatch(CancellationToken cancellationToken)
        {
            var ticksPerRequest = Stopwatch.Frequency / rate;
            var ticksPerMillisecond = Stopwatch.Frequency / 1000;
            var lateTicks = LoadGenerator.ToTicks(LateStartLimit);
            var total = warmupSlots + measured.LongLength;

            // A short lead so slot 0 is not already late when the thread gets going.
            var origin = Stopwatch.GetTimestamp() + 20 * ticksPerMillisecond;
            for (long slot = 0; slot < total && !cancellationToken.IsCancellationRequested; slot++)
            {
                var scheduled = origin + (long)(slot * ticksPerRequest);
                var now = Stopwatch.GetTimestamp();

                // Sleep in whole milliseconds (the OS timer's grain) and start up to 1 ms early rather
                // than spin: spinning would take a core from the server on a small machine. A request
                // started early is timed from its actual start (see SendAsync), so that costs nothing.
                while (scheduled - now >= ticksPerMillisecond)
                {
                    Thread.Sleep((int)Math.Min(int.MaxValue, (scheduled - now) / ticksPerMillisecond));
                    now = Stopwatch.GetTimestamp();
                }

                if (now - scheduled > lateTicks)
                {
                    Record(slot, Late, "late start: the load generator fell more than " + LateStartLimit.TotalMilliseconds + " ms behind its schedule");
                    continue;
                }

                if (Interlocked.Read(ref inFlight) >= maxInFlight)
                {
                    Record(slot, Dropped, "dropped: " + maxInFlight + " requests already in flight (--max-in-flight)");
                    continue;
                }

                Interlocked.Increment(ref inFlight);
                Interlocked.Increment(ref outstanding);
                var request = (Slot: slot, Scheduled: scheduled, Token: cancellationToken);
                // Queued rather than called: the synchronous part of SendAsync (connection pick-up,
                // header writes) must not delay the next slot.
                ThreadPool.UnsafeQueueUserWorkItem(
                    static state => _ = state.Run.SendAsync(state.Request.Slot, state.Request.Scheduled, state.Request.Token),
                    (Run: this, Request: request),
                    preferLocal: false);
            }
        }

        private async Task SendAsync(long slot, long scheduled, CancellationToken cancellationToken)
        {
            try
            {
                var start = Stopwatch.GetTimestamp();
                var origin = Math.Min(scheduled, start); // late: from the slot; early: from the real start
                string? failure;
                try
                {
                    using var request = workload.CreateRequest(slot);
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                    failure = await workload.CheckAsync(response, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    Record(slot, Abandoned, null);
                    return;
                }
                catch (RateLimitedException ex)
                {
                    Stop(slot, ex);
                    return;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    failure = ex.GetType().Name + ": " + ex.Message;
                }

                var end = Stopwatch.GetTimestamp();
                Record(slot, failure is null ? Math.Max(1, end - origin) : Failed, failure);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Nobody awaits this task: an unexpected exception must end the run loudly, not vanish.
                Stop(slot, ex);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
                if (Interlocked.Decrement(ref outstanding) == 0)
                {
                    drained.TrySetResult();
                }
            }
        }

        private void Stop(long slot, Exception reason)
        {
            Interlocked.CompareExchange(ref stopper, reason, null);
            Record(slot, Abandoned, null);
            abort.Cancel(); // stops the dispatcher and every request in flight
        }

        private void Record(long slot, long outcome, string? failure)
        {
            var index = slot - warmupSlots;
            if (index < 0)
            {
                return; // warm-up
            }

            measured[index] = outcome;
            if (failure is not null && outcome is Failed or Dropped or Late)
            {
                Interlocked.CompareExchange(ref firstError, failure, null);
            }
        }

        private OpenLoopResult Summarize()
        {
            var latencies = measured.Where(o => o > 0).ToArray();
            Array.Sort(latencies);
            long failed = 0, dropped = 0, late = 0;
            foreach (var outcome in measured)
            {
                switch (outcome)
                {
                    case Failed:
                        failed++;
                        break;
                    case Dropped:
                        dropped++;
                        break;
                    case Late:
                        late++;
                        break;
                }
            }

            var windowSeconds = measured.LongLength / rate;
            var run = new RunResult(
                workload.Scenario,
                workload.Target,
                maxInFlight,
                latencies.LongLength,
                failed + dropped + late,
                windowSeconds,
                LoadGenerator.Mean(latencies),
                LoadGenerator.Percentile(latencies, 0.50),
                LoadGenerator.Percentile(latencies, 0.95),
                LoadGenerator.Percentile(latencies, 0.99),
                firstError,
                capReached);
            return new OpenLoopResult(rate, run, dropped, late);
        }
    }
}
