using System.Net;
using System.Text.RegularExpressions;

namespace Chat4All.Deployment.Tests;

/// <summary>
/// The Ingress and the probes against the real host: every route a target serves reaches that target
/// through the Ingress (as ingress-nginx chooses among paths), and every path a probe or the
/// ServiceMonitor uses is served by every target.
/// </summary>
public sealed class RoutingAndProbeTests(TargetHosts hosts) : IClassFixture<TargetHosts>
{
    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryPublicRouteOfEveryTargetReachesThatTargetThroughTheIngress(string overlay)
    {
        var ingress = IngressRouter.From(Kustomize.Overlay(overlay));

        Assert.Contains(hosts.Routes, r => r.Pattern == "/ws");

        // A route several targets serve (the web console's static files: every target) may go to any of them.
        var servedBy = hosts.Routes.GroupBy(r => r.Pattern).ToDictionary(g => g.Key, g => g.Select(r => r.Target).ToHashSet());
        var misrouted = hosts.Routes
            .Select(r => (Route: r, Service: ingress.Route(r.SamplePath)))
            .Where(x => x.Service is null || !servedBy[x.Route.Pattern].Contains(x.Service))
            .Select(x => $"{x.Route.Target} {x.Route.Pattern} → {x.Service ?? "no backend"}")
            .Distinct()
            .ToList();
        Assert.Empty(misrouted);
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryIngressPathLeadsToARouteOfItsTarget(string overlay)
    {
        var ingress = IngressRouter.From(Kustomize.Overlay(overlay));

        foreach (var rule in ingress.Rules)
        {
            Assert.True(hosts.Routes.Any(r => r.Target == rule.Service && rule.Matches(r.SamplePath)),
                $"Ingress path {rule.Path} → {rule.Service} matches none of {rule.Service}'s routes");
        }
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryProbeAndScrapePathIsServedByEveryTarget(string overlay)
    {
        var paths = TargetHosts.ProbedPaths(overlay);

        Assert.Contains("/health", paths);
        Assert.Contains("/ready", paths);
        Assert.Contains("/metrics", paths);
        foreach (var target in Sources.AppIds)
        {
            foreach (var path in paths)
            {
                Assert.True(hosts.Answers[(target, path)] == HttpStatusCode.OK, $"{target} answers {hosts.Answers[(target, path)]} on {path}");
            }
        }
    }
}

/// <summary>
/// How ingress-nginx picks a backend for one host: an Exact path first; otherwise, because one of our
/// Ingresses sets use-regex (which ingress-nginx applies to every path of the host), each path is a
/// case-insensitive regex anchored at the start, tried longest first.
/// </summary>
public sealed class IngressRouter
{
    private IngressRouter(IReadOnlyList<IngressRule> rules) => Rules = rules;

    public IReadOnlyList<IngressRule> Rules { get; }

    public static IngressRouter From(Rendered rendered) => new(
        [.. rendered.OfKind("Ingress")
            .SelectMany(i => i.Spec.Seq("rules"))
            .SelectMany(r => r.At("http").Seq("paths"))
            .Select(p => new IngressRule(p.Str("path")!, p.Str("pathType")!, p.At("backend", "service", "name").Str()!))]);

    public string? Route(string path) =>
        (Rules.FirstOrDefault(r => r.PathType == "Exact" && r.Path == path)
         ?? Rules.Where(r => r.PathType != "Exact").OrderByDescending(r => r.Path.Length).FirstOrDefault(r => r.Matches(path)))?.Service;
}

public sealed record IngressRule(string Path, string PathType, string Service)
{
    public bool Matches(string path) => PathType == "Exact"
        ? path == Path
        : Regex.IsMatch(path, "^" + Path, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
}
