using System.CommandLine;
using System.Globalization;

namespace Chat4All.Bench;

/// <summary>
/// Scenario 1: token issuance and an authenticated no-op against the running host, each next to the
/// same load on a bare in-process Kestrel server (the ceiling). Registered three times: <c>all</c>
/// (both), <c>token</c> and <c>noop</c>.
/// </summary>
internal sealed class AuthScenario(string name, bool token, bool noop) : IBenchScenario
{
    private static readonly Option<int> Concurrency = BenchOption.Int("--concurrency", "workers for the authenticated no-op", 32, 1, BenchOption.MaxConcurrency);

    private static readonly Option<int> TokenConcurrency = BenchOption.Int("--token-concurrency",
        "workers for token issuance (CPU-heavy server-side)", 8, 1, BenchOption.MaxConcurrency);

    public string Name => name;

    public string Description => (token, noop) switch
    {
        (true, true) => "token issuance (POST /auth/token) and an authenticated no-op (GET /v1/me), closed loop, each next to a bare\nKestrel ceiling in this process. Needs only a running host.",
        (true, false) => "token issuance only, as in all.",
        _ => "the authenticated no-op only, as in all.",
    };

    public IReadOnlyList<Option> Options =>
        [CommonOptions.Duration, CommonOptions.Warmup, .. token ? new[] { TokenConcurrency } : [], .. noop ? new[] { Concurrency } : []];

    public int HttpConcurrency(ParseResult parsed) => Math.Max(noop ? parsed.GetValue(Concurrency) : 0, token ? parsed.GetValue(TokenConcurrency) : 0);

    public async Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken)
    {
        var warmup = parsed.GetValue(CommonOptions.Warmup);
        var duration = parsed.GetValue(CommonOptions.Duration);
        if (noop && await ScenarioSetup.RunAsync(run.Url, () => Chat4AllApi.CheckMeAsync(run.Client, run.Url, run.AccessTokens[0], cancellationToken),
                cancellationToken) is { } failed)
        {
            return failed;
        }

        // Printed only once the setup works, so a failed preflight leaves stdout empty.
        run.Report.Line(MachineInfo.Describe());

        await using var ceiling = await CeilingServer.StartAsync(cancellationToken);
        Progress("bare Kestrel ceiling listening on " + ceiling.BaseAddress);

        var workloads = new List<Workload>();
        if (token)
        {
            var concurrency = parsed.GetValue(TokenConcurrency);
            workloads.Add(Workload.TokenIssuance(Workload.Chat4AllTarget, run.Url, Chat4AllApi.TokenPath, concurrency, run.Users));
            workloads.Add(Workload.TokenIssuance(Workload.CeilingTarget, ceiling.BaseAddress, CeilingServer.TokenPath, concurrency, run.Users));
        }

        if (noop)
        {
            var concurrency = parsed.GetValue(Concurrency);
            workloads.Add(Workload.AuthenticatedNoop(Workload.Chat4AllTarget, run.Url, Chat4AllApi.MePath, concurrency, run.AccessTokens));
            workloads.Add(Workload.AuthenticatedNoop(Workload.CeilingTarget, ceiling.BaseAddress, CeilingServer.MePath, concurrency, run.AccessTokens));
        }

        var generator = new LoadGenerator(run.Client, warmup, duration, LoadGenerator.DefaultRequestCap);
        var results = new List<RunResult>();
        foreach (var workload in workloads)
        {
            Progress(workload.Scenario + " -> " + workload.Target + ": " + workload.Concurrency.ToString(CultureInfo.InvariantCulture) +
                " workers, " + Seconds(warmup) + " warm-up + " + Seconds(duration) + " measured");

            // Start each target from a clean heap so garbage left by the previous run is not collected on its clock.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();

            var result = await generator.RunAsync(workload, cancellationToken);
            if (cancellationToken.IsCancellationRequested)
            {
                Progress("interrupted; the unfinished run is not reported");
                break;
            }

            results.Add(result);
            Progress("  " + result.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture) + " req/s, " +
                result.Errors.ToString(CultureInfo.InvariantCulture) + " errors");
        }

        if (results.Count > 0)
        {
            run.Report.Line();
            ResultTable.Report(run.Report, results);
            run.Report.Line();
            run.Report.Line(
                "Warm-up " + Seconds(warmup) + " (not recorded), measured " + Seconds(duration) +
                " per target; closed loop, one shared HttpClient, HTTP/1.1 over loopback.");
            run.Report.Line(
                "req/s counts successful responses only; errors (non-2xx, timeouts, connection failures) are excluded from the percentiles.");
            run.Report.Line(
                "The load generator runs on the same machine and shares its " + Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) +
                " cores with the server under test (Chat4All in its own process, the bare Kestrel ceiling inside this one).");
            if (MachineInfo.DescribeLoadAtEnd() is { } load)
            {
                run.Report.Line(load);
            }

            foreach (var result in results.Where(r => r.FirstError is not null))
            {
                run.Report.Line("Errors in " + result.Scenario + " / " + result.Target + ", first: " + result.FirstError);
            }

            foreach (var result in results.Where(r => r.CapReached))
            {
                run.Report.Line(
                    result.Scenario + " / " + result.Target + " hit the cap of " +
                    LoadGenerator.DefaultRequestCap.ToString("N0", CultureInfo.InvariantCulture) + " requests; its window was shortened.");
            }
        }

        return cancellationToken.IsCancellationRequested ? 130 : 0;
    }

    private static void Progress(string message) => Console.Error.WriteLine("[bench] " + message);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}
