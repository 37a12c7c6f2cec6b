using Chat4All.Contracts;

namespace Chat4All.Deployment.Tests;

/// <summary>Where Dapr resources come from: components/ for `dapr run -f .`, each rendered overlay for the cluster.</summary>
public static class Sources
{
    public const string Local = "components";

    public static TheoryData<string> ComponentSources => [Local, "dev", "prod"];

    public static TheoryData<string> Overlays => [.. Kustomize.Overlays];

    public static IReadOnlyList<Manifest> DaprResources(string source) => source == Local
        ? Repository.LocalComponents()
        : [.. Kustomize.Overlay(source).Manifests.Where(m => m.Root.Str("apiVersion")?.StartsWith("dapr.io/", StringComparison.Ordinal) == true)];

    public static IReadOnlyList<Manifest> Components(string source) => [.. DaprResources(source).Where(m => m.Kind == "Component")];

    /// <summary>Every public string constant of a Contracts class: the names code uses.</summary>
    public static IReadOnlyList<string> ConstantsOf(Type type) =>
        [.. type.GetFields().Where(f => f is { IsLiteral: true, FieldType.Name: "String" }).Select(f => (string)f.GetRawConstantValue()!)];

    public static IReadOnlyList<string> ComponentNames => ConstantsOf(typeof(Components));

    public static IReadOnlyList<string> TopicNames => ConstantsOf(typeof(Topics));

    public static IReadOnlyList<string> AppIds => [.. Targets.Implemented.Order(StringComparer.Ordinal)];

    public static IReadOnlyList<string> AppsWhere(Func<DaprApp, bool> predicate) =>
        [.. DaprApps.All.Where(predicate).Select(a => a.AppId).Order(StringComparer.Ordinal)];
}
