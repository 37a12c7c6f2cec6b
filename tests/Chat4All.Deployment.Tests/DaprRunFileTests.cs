namespace Chat4All.Deployment.Tests;

/// <summary>dapr.yaml, the Multi-App Run file: one app per target, the same binary, the components in components/.</summary>
public sealed class DaprRunFileTests
{
    private static readonly Manifest RunFile = Repository.Load("dapr.yaml").Single();

    [Fact]
    public void EveryTargetIsOneAppWhoseIdIsTheTargetAndWhoseCommandRunsThatTarget()
    {
        var apps = RunFile.Root.Seq("apps");

        Assert.Equal(Sources.AppIds, apps.Select(a => a.Str("appID")!).Order(StringComparer.Ordinal));
        foreach (var app in apps)
        {
            var command = app.Seq("command").Select(c => c.Str()!).ToList();
            var target = command[command.IndexOf("--target") + 1];
            Assert.Equal(app.Str("appID"), target);
            // The same host binary for every app; only --target (and the port) differ.
            Assert.Equal(apps[0].Seq("command")[1].Str(), command[1]);
            Assert.Contains($"http://127.0.0.1:{app.Str("appPort")}", command);
        }
    }

    [Fact]
    public void EveryAppGetsItsOwnPorts()
    {
        var apps = RunFile.Root.Seq("apps");

        foreach (var port in new[] { "appPort", "daprHTTPPort", "daprGRPCPort", "metricsPort" })
        {
            var ports = apps.Select(a => a.Str(port)).ToList();
            Assert.All(ports, p => Assert.False(string.IsNullOrEmpty(p)));
            Assert.Equal(ports.Count, ports.Distinct().Count());
        }
    }

    [Fact]
    public void TheAppsRunTheDaprRuntimeOnTheComponentsFolderAndItsConfiguration()
    {
        var common = RunFile.Root.Map("common");

        Assert.Equal("dapr", common.At("env", "Chat4All__Runtime").Str());
        Assert.True(Directory.Exists(Repository.PathOf(common.Str("resourcesPath")!)));
        var configuration = Repository.Load(common.Str("configFilePath")!.TrimStart('.', '/')).Single();
        Assert.Equal("Configuration", configuration.Kind);
        Assert.Equal("/health", common.Str("appHealthCheckPath"));
    }

    [Fact]
    public void TheRunFileHoldsNoSecret()
    {
        var text = File.ReadAllText(Repository.PathOf("dapr.yaml"));

        Assert.DoesNotContain("Password=", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("ConnectionStrings__", text, StringComparison.Ordinal);
    }
}
