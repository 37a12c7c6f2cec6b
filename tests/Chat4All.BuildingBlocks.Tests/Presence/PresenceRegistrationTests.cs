using Chat4All.BuildingBlocks.Presence;
using Chat4All.Contracts;
using Dapr.Actors.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Tests.Presence;

public sealed class PresenceRegistrationTests
{
    [Fact]
    public void StandaloneRuntimeTracksPresenceInRedis()
    {
        using var host = Build("standalone");

        Assert.IsType<RedisPresenceTracker>(host.Services.GetRequiredService<IPresenceTracker>());
    }

    [Fact]
    public void DaprRuntimeTracksPresenceInUserPresenceActorsHostedByThisApp()
    {
        using var host = Build("dapr");

        Assert.IsType<DaprPresenceTracker>(host.Services.GetRequiredService<IPresenceTracker>());
        var actor = Assert.Single(host.Services.GetRequiredService<IOptions<ActorRuntimeOptions>>().Value.Actors);
        Assert.Equal((Actors.UserPresence, typeof(UserPresenceActor)), (actor.Type.ActorTypeName, actor.Type.ImplementationType));
    }

    [Fact]
    public void ServicesThatEachAddPresenceShareOneRegistration()
    {
        var builder = NewBuilder("dapr");
        builder.AddPresence();
        builder.AddPresence();

        Assert.Single(builder.Services, d => d.ServiceType == typeof(IPresenceTracker));
        using var host = builder.Build();
        Assert.Single(host.Services.GetRequiredService<IOptions<ActorRuntimeOptions>>().Value.Actors);
    }

    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        using var host = Build("standalone");
        var options = host.Services.GetRequiredService<IOptions<PresenceOptions>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(90), options.ConnectionTtl);
        Assert.Equal(TimeSpan.FromSeconds(30), options.HeartbeatInterval);
        Assert.Equal("chat4all", options.KeyPrefix);
        Assert.Equal(TimeSpan.FromDays(30), options.LastSeenRetention);
    }

    [Theory]
    [InlineData("Chat4All:Presence:ConnectionTtl", "00:00:00", "ConnectionTtl")]
    [InlineData("Chat4All:Presence:KeyPrefix", "has space", "KeyPrefix")]
    [InlineData("Chat4All:Presence:LastSeenRetention", "00:01:00", "LastSeenRetention")]
    public async Task MisconfiguredPresenceRefusesToStart(string key, string value, string named)
    {
        var builder = NewBuilder("dapr", new() { [key] = value });
        builder.AddPresence();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dapr", true)]
    [InlineData("standalone", false)]
    public async Task MapPresenceMapsTheActorEndpointsOnlyInTheDaprRuntime(string runtime, bool mapped)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(Settings(runtime, []));
        builder.AddPresence();
        await using var app = builder.Build();

        app.MapPresence();
        app.MapPresence();

        var routes = ((IEndpointRouteBuilder)app).DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText).ToList();
        Assert.Equal(mapped ? 1 : 0, routes.Count(r => r == "dapr/config"));
        Assert.Equal(mapped ? 1 : 0, routes.Count(r => r == "actors/{actorTypeName}/{actorId}/method/timer/{timerName}"));
    }

    [Fact]
    public void MapPresenceWithoutAddPresenceSaysWhatIsMissing()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapPresence());
        Assert.Contains("AddPresence", error.Message, StringComparison.Ordinal);
    }

    private static IHost Build(string runtime)
    {
        var builder = NewBuilder(runtime);
        builder.AddPresence();
        return builder.Build();
    }

    private static HostApplicationBuilder NewBuilder(string runtime, Dictionary<string, string?>? settings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(Settings(runtime, settings ?? []));
        return builder;
    }

    private static Dictionary<string, string?> Settings(string runtime, Dictionary<string, string?> settings)
    {
        settings["ConnectionStrings:Redis"] = "127.0.0.1:1,abortConnect=false";
        settings["Chat4All:Runtime"] = runtime;
        return settings;
    }
}
