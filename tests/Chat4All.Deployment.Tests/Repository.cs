using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace Chat4All.Deployment.Tests;

/// <summary>The repository's deployment files, found from the test's output folder.</summary>
public static class Repository
{
    public static readonly string Root = RepositoryRoot.Path;

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>Every YAML file under <paramref name="folder"/> (recursive), repository-relative.</summary>
    public static IReadOnlyList<string> YamlFilesUnder(string folder) =>
        [.. Directory.EnumerateFiles(PathOf(folder), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Root, f))
            .Order(StringComparer.Ordinal)];

    /// <summary>The documents of one YAML file (multi-document aware).</summary>
    public static IReadOnlyList<Manifest> Load(string relative) => Yaml.Parse(File.ReadAllText(PathOf(relative)), relative);

    /// <summary>The Dapr resources daprd loads from components/ (not its sub-folders).</summary>
    public static IReadOnlyList<Manifest> LocalComponents() =>
        [.. Directory.EnumerateFiles(PathOf("components"), "*.yaml").Order(StringComparer.Ordinal)
            .SelectMany(f => Load(Path.GetRelativePath(Root, f)))];
}

/// <summary>Renders a kustomization the way `kubectl kustomize` does, offline; once per overlay per run.</summary>
public static class Kustomize
{
    public static readonly IReadOnlyList<string> Overlays = ["dev", "prod"];

    private static readonly Dictionary<string, Lazy<Rendered>> Cache = Overlays.ToDictionary(
        o => o, o => new Lazy<Rendered>(() => Render($"k8s/overlays/{o}")), StringComparer.Ordinal);

    public static Rendered Overlay(string name) => Cache[name].Value;

    public static Rendered Render(string kustomization)
    {
        var info = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repository.Root };
        info.ArgumentList.Add("kustomize");
        info.ArgumentList.Add(kustomization);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("These tests render k8s/ with `kubectl kustomize` (kubectl ≥ 1.27, offline); kubectl is not on PATH.", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"kubectl kustomize {kustomization} did not finish in 2 minutes.");
            }

            return new Rendered(kustomization, process.ExitCode, stdout.Result, stderr.Result);
        }
    }
}

public sealed record Rendered(string Kustomization, int ExitCode, string Output, string Errors)
{
    private IReadOnlyList<Manifest>? _manifests;

    public IReadOnlyList<Manifest> Manifests => _manifests ??= ExitCode == 0
        ? Yaml.Parse(Output, Kustomization)
        : throw new InvalidOperationException($"kubectl kustomize {Kustomization} failed ({ExitCode}): {Errors}");

    public IEnumerable<Manifest> OfKind(string kind) => Manifests.Where(m => m.Kind == kind);

    public Manifest One(string kind, string name) =>
        Manifests.SingleOrDefault(m => m.Kind == kind && m.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"{Kustomization} renders no {kind} '{name}'.");
}

/// <summary>One YAML document, navigable by paths of keys.</summary>
public sealed record Manifest(string Source, YamlMappingNode Root)
{
    public string? Kind => Root.Str("kind");

    public string? Name => Root.Map("metadata")?.Str("name");

    public string? Namespace => Root.Map("metadata")?.Str("namespace");

    public YamlMappingNode? Spec => Root.Map("spec");

    public override string ToString() => $"{Kind} {Name} ({Source})";
}

public static class Yaml
{
    public static IReadOnlyList<Manifest> Parse(string text, string source)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(text);
        stream.Load(reader);
        return [.. stream.Documents
            .Where(d => d.RootNode is YamlMappingNode { Children.Count: > 0 })
            .Select(d => new Manifest(source, (YamlMappingNode)d.RootNode))];
    }

    public static YamlNode? Get(this YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static YamlMappingNode? Map(this YamlNode? node, string key) => node.Get(key) as YamlMappingNode;

    public static IReadOnlyList<YamlNode> Seq(this YamlNode? node, string key) =>
        node.Get(key) is YamlSequenceNode seq ? [.. seq.Children] : [];

    public static string? Str(this YamlNode? node, string key) => (node.Get(key) as YamlScalarNode)?.Value;

    public static string? Str(this YamlNode? node) => (node as YamlScalarNode)?.Value;

    /// <summary>Follows a path of keys; a number steps into a sequence.</summary>
    public static YamlNode? At(this YamlNode? node, params object[] path)
    {
        foreach (var step in path)
        {
            node = step switch
            {
                int index when node is YamlSequenceNode seq && index < seq.Children.Count => seq.Children[index],
                string key => node.Get(key),
                _ => null,
            };
        }

        return node;
    }

    /// <summary>Dapr component metadata as name → item.</summary>
    public static IReadOnlyDictionary<string, YamlMappingNode> DaprMetadata(this Manifest component) =>
        component.Spec.Seq("metadata").OfType<YamlMappingNode>()
            .ToDictionary(m => m.Str("name") ?? "", m => m, StringComparer.Ordinal);

    public static IReadOnlyList<string> Scopes(this Manifest manifest) =>
        [.. manifest.Root.Seq("scopes").Select(s => s.Str() ?? "").Order(StringComparer.Ordinal)];
}
