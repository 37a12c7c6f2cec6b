using System.Net;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Deployment.Tests;

/// <summary>One public route of a target: its HTTP methods and a concrete path that matches it.</summary>
public sealed record PublicRoute(string Target, string Pattern, string SamplePath);

/// <summary>
/// Every target started on its own (as its pod runs it), with what the deployment needs to know of it:
/// the routes it serves and how its probe and metrics paths answer. Standalone runtime: routes and
/// health endpoints are the same in both runtimes, and no sidecar is needed to read them.
/// </summary>
public sealed class TargetHosts : IAsyncLifetime
{
    // Served to the cluster (probes, Prometheus), never through the Ingress.
    private static readonly string[] Operational = ["health", "ready", "metrics", "openapi/{documentName}.json"];

    private readonly TemporaryDirectory _data = new();
    private TestDatabase _database = null!;

    public List<PublicRoute> Routes { get; } = [];

    /// <summary>(target, path) → status code, for the probe and scrape paths the manifests use.</summary>
    public Dictionary<(string Target, string Path), HttpStatusCode> Answers { get; } = [];

    public static IReadOnlyList<string> ProbedPaths(string overlay) =>
        [.. Kustomize.Overlay(overlay).OfKind("Deployment")
            .SelectMany(d => d.Spec.At("template", "spec").Seq("containers"))
            .SelectMany(c => new[] { "startupProbe", "livenessProbe", "readinessProbe" }.Select(p => c.At(p, "httpGet", "path").Str()))
            .OfType<string>()
            .Concat(Kustomize.Overlay(overlay).OfKind("ServiceMonitor").SelectMany(m => m.Spec.Seq("endpoints")).Select(e => e.Str("path")).OfType<string>())
            .Distinct()];

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        var redis = await TestInfrastructure.RedisConnectionStringAsync();
        var paths = Kustomize.Overlays.SelectMany(ProbedPaths).Distinct().ToList();
        foreach (var target in Sources.AppIds)
        {
            await using var host = await new Chat4AllHost(_database.ConnectionString, redis, _data.Path,
                new Dictionary<string, string?> { ["Chat4All:Targets"] = target }).StartAsync();
            var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();
            foreach (var endpoint in endpoints)
            {
                var pattern = endpoint.RoutePattern.RawText?.TrimStart('/') ?? "";
                if (!Operational.Contains(pattern, StringComparer.Ordinal) && !IsSelfDescription(pattern))
                {
                    Routes.Add(new PublicRoute(target, "/" + pattern, "/" + Sample(endpoint.RoutePattern)));
                }
            }

            using var client = host.CreateHttpClient();
            await AddDiscoveryRoutesAsync(client, target);
            foreach (var path in paths)
            {
                using var response = await client.GetAsync(path);
                Answers[(target, path)] = response.StatusCode;
            }
        }
    }

    /// <summary>
    /// The landing page, /docs and /asyncapi/v1.json: each target describes its own operations, so they
    /// are read from a pod (port-forward), like /openapi/v1.json, not through the Ingress (docs/adr/0055).
    /// </summary>
    private static bool IsSelfDescription(string pattern) =>
        pattern.Length == 0 || pattern == "docs" || pattern.StartsWith("docs/", StringComparison.Ordinal) || pattern.StartsWith("asyncapi/", StringComparison.Ordinal);

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _data.Dispose();
    }

    /// <summary>
    /// OpenIddict serves discovery, JWKS and its endpoints from middleware, not endpoint routing: the
    /// discovery document (when this target serves one) names them.
    /// </summary>
    private async Task AddDiscoveryRoutesAsync(HttpClient client, string target)
    {
        const string discovery = "/.well-known/openid-configuration";
        using var response = await client.GetAsync(discovery);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return;
        }

        Routes.Add(new PublicRoute(target, discovery, discovery));
        using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        foreach (var property in document.RootElement.EnumerateObject().Where(p => p.Name.EndsWith("_endpoint", StringComparison.Ordinal) || p.Name == "jwks_uri"))
        {
            if (Uri.TryCreate(property.Value.GetString(), UriKind.Absolute, out var uri))
            {
                Routes.Add(new PublicRoute(target, uri.AbsolutePath, uri.AbsolutePath));
            }
        }
    }

    private static string Sample(Microsoft.AspNetCore.Routing.Patterns.RoutePattern pattern) =>
        string.Join('/', pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart literal => literal.Content,
            Microsoft.AspNetCore.Routing.Patterns.RoutePatternSeparatorPart separator => separator.Content,
            Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart parameter =>
                parameter.ParameterPolicies.Any(p => p.Content == "guid") ? "0b7c1a4e-5f2d-4e3a-9c1b-2d3e4f5a6b7c" : "sms",
            _ => "x",
        }))));
}
