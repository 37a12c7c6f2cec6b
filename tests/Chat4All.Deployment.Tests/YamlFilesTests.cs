using System.Text.Json;

namespace Chat4All.Deployment.Tests;

public sealed class YamlFilesTests
{
    public static TheoryData<string> DeploymentYamlFiles =>
        [.. Repository.YamlFilesUnder("components").Concat(Repository.YamlFilesUnder("k8s")).Append("dapr.yaml")];

    [Theory]
    [MemberData(nameof(DeploymentYamlFiles))]
    public void EveryDeploymentYamlFileParsesIntoTypedDocuments(string file)
    {
        var documents = Repository.Load(file);

        Assert.NotEmpty(documents);
        foreach (var document in documents)
        {
            // Kubernetes and Dapr resources name their kind; the multi-app run file names its version.
            Assert.True(document.Kind is { Length: > 0 } || document.Root.Str("version") is { Length: > 0 }, $"{file}: a document without kind");
        }
    }

    [Fact]
    public void EveryJsonAssetParses()
    {
        var files = Directory.EnumerateFiles(Repository.PathOf("k8s"), "*.json", SearchOption.AllDirectories).ToList();

        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        }
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryOverlayRendersOfflineWithKubectlKustomize(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);

        Assert.True(rendered.ExitCode == 0, rendered.Errors);
        Assert.Contains(rendered.Manifests, m => m.Kind == "Deployment");
        Assert.All(rendered.Manifests, m => Assert.False(string.IsNullOrEmpty(m.Kind), m.ToString()));
    }

    [Fact]
    public void ThePlatformSettingsRenderAndRequireTls13()
    {
        var rendered = Kustomize.Render("k8s/platform/ingress-nginx");

        var config = rendered.One("ConfigMap", "ingress-nginx-controller");
        Assert.Equal("TLSv1.3", config.Root.Map("data").Str("ssl-protocols"));
    }
}
