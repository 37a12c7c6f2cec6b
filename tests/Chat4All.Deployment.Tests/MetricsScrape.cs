using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Deployment.Tests;

/// <summary>
/// The metric families a real host exports on /metrics, with every Chat4All instrument present: the
/// host runs every target (standalone), each service's metrics class is resolved, and each of their
/// instruments gets one zero measurement, so the Prometheus exporter prints its real, final name
/// (dots to underscores, unit suffix, <c>_total</c>) — what dashboards and alerts must use.
/// </summary>
public sealed partial class MetricsScrape : IAsyncLifetime
{
    /// <summary>
    /// Runs alone: OpenTelemetry in one host also follows same-named meters of other hosts in this
    /// process, and drops a metric when another host disposes its copy (one host per process in
    /// production never sees this), so a host started and stopped in parallel empties the scrape.
    /// </summary>
    public const string Collection = "metrics scrape";

    public IReadOnlySet<string> Series { get; private set; } = new HashSet<string>();

    public IReadOnlyList<string> Chat4AllInstruments { get; private set; } = [];

    private TestDatabase _database = null!;
    private readonly TemporaryDirectory _data = new();

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        var instruments = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name.StartsWith("Chat4All.", StringComparison.Ordinal))
                {
                    lock (instruments)
                    {
                        instruments.Add(instrument);
                    }
                }
            },
        };
        listener.Start();

        await using var host = await new Chat4AllHost(_database.ConnectionString, await TestInfrastructure.RedisConnectionStringAsync(), _data.Path).StartAsync();
        foreach (var type in AppDomain.CurrentDomain.GetAssemblies()
                     .Where(a => a.GetName().Name?.StartsWith("Chat4All.", StringComparison.Ordinal) == true)
                     .SelectMany(SafeTypes)
                     .Where(t => t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false } && t.Name.EndsWith("Metrics", StringComparison.Ordinal)))
        {
            host.Services.GetService(type);
        }

        lock (instruments)
        {
            foreach (var instrument in instruments)
            {
                Touch(instrument);
            }

            Chat4AllInstruments = [.. instruments.Select(i => $"{i.Meter.Name}/{i.Name}").Distinct().Order(StringComparer.Ordinal)];
        }

        using var client = host.CreateHttpClient();
        (await client.GetAsync("/health")).Dispose(); // one request, so the HTTP server metrics exist

        // Observable gauges report once their service has observed something (the outbox relay counts
        // pending rows on its first pass after the migrations), so scrape until every instrument shows.
        List<string> expected;
        lock (instruments)
        {
            expected = [.. instruments.Select(i => i.Name.Replace('.', '_')).Distinct()];
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            var text = await client.GetStringAsync("/metrics");
            Series = SeriesName().Matches(text).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            if (expected.All(name => Series.Any(s => s.StartsWith(name, StringComparison.Ordinal))))
            {
                return;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _data.Dispose();
    }

    private static void Touch(Instrument instrument)
    {
        switch (instrument)
        {
            case Counter<long> c: c.Add(0); break;
            case Counter<double> c: c.Add(0); break;
            case UpDownCounter<long> u: u.Add(0); break;
            case UpDownCounter<double> u: u.Add(0); break;
            case Histogram<double> h: h.Record(0); break;
            case Histogram<long> h: h.Record(0); break;
            default: break; // observable instruments report on collection
        }
    }

    private static IEnumerable<Type> SafeTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.OfType<Type>();
        }
    }

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", RegexOptions.Multiline)]
    private static partial Regex SeriesName();
}

[CollectionDefinition(MetricsScrape.Collection, DisableParallelization = true)]
public sealed class MetricsScrapeRunsAlone;
