using System.CommandLine;

namespace Chat4All.Bench;

/// <summary>
/// One bench scenario, self-contained: its name (the value of <c>--scenario</c>), what it measures (for
/// <c>--help</c>), the options it takes beyond <see cref="CommonOptions"/>, how many HTTP requests it
/// keeps in flight, and the run. A new scenario is one class implementing this, added to
/// <see cref="BenchScenarios.All"/>; Program.cs knows none of them by name.
/// </summary>
internal interface IBenchScenario
{
    /// <summary>The value of <c>--scenario</c> that selects it.</summary>
    string Name { get; }

    /// <summary>What it measures and what it needs, in a few lines for <c>--help</c>.</summary>
    string Description { get; }

    /// <summary>Its own options; the same <see cref="Option"/> instance may be listed by several scenarios (e.g. <see cref="CommonOptions.Rates"/>).</summary>
    IReadOnlyList<Option> Options { get; }

    /// <summary>HTTP requests it keeps in flight at most, so the shared client's pool never queues a measured request.</summary>
    int HttpConcurrency(ParseResult parsed);

    /// <summary>
    /// Runs it once: setup, measurement, then its result rows and notes into <see cref="BenchRun.Report"/>
    /// (which prints them on stdout in the format asked for), progress on stderr. Returns the exit code
    /// (0 ok, 1 setup or run failed, 130 interrupted).
    /// </summary>
    Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken);
}

/// <summary>What every scenario gets: the host, where its results go, the shared HTTP client and the demo users (their tokens already proven to work).</summary>
internal sealed record BenchRun(Uri Url, ScenarioReport Report, HttpClient Client, IReadOnlyList<DemoUser> Users, string UsersPath, IReadOnlyList<string> AccessTokens);

/// <summary>Every scenario, in the order <c>--help</c> lists them.</summary>
internal static class BenchScenarios
{
    public static IReadOnlyList<IBenchScenario> All { get; } =
    [
        new AuthScenario("all", token: true, noop: true),
        new AuthScenario("token", token: true, noop: false),
        new AuthScenario("noop", token: false, noop: true),
        new MessagesScenario(),
        new DeliveriesScenario(),
        new ConnectionsScenario(),
        new RealtimeLatencyScenario(),
        new UploadsScenario(),
        new PipelineScenario(),
        new IsolationScenario(),
        new ChaosScenario(),
    ];
}
