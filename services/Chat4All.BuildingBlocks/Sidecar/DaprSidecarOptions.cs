using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Chat4All.BuildingBlocks.Sidecar;

/// <summary>
/// Where this app's Dapr sidecar is and how long to wait for it (dapr runtime only). The endpoints are
/// read from the variables daprd and <c>dapr run</c> give the app — <c>DAPR_HTTP_ENDPOINT</c> or
/// <c>DAPR_HTTP_PORT</c>, <c>DAPR_GRPC_ENDPOINT</c> or <c>DAPR_GRPC_PORT</c> — exactly as the Dapr SDK
/// reads them, so the start-up wait, readiness, actors, workflows and <c>DaprClient</c> all talk to one
/// sidecar. Unlike the SDK, a missing address is an error, not a silent <c>127.0.0.1:3500</c>.
/// Tunables are bound from <c>Chat4All:Dapr</c>.
/// </summary>
public sealed class DaprSidecarOptions
{
    public const string SectionName = "Chat4All:Dapr";

    public const string HttpEndpointKey = "DAPR_HTTP_ENDPOINT";
    public const string HttpPortKey = "DAPR_HTTP_PORT";
    public const string GrpcEndpointKey = "DAPR_GRPC_ENDPOINT";
    public const string GrpcPortKey = "DAPR_GRPC_PORT";

    /// <summary>The app id daprd was started with (<c>dapr run</c> and our manifests set it); must be the target.</summary>
    public const string AppIdKey = "APP_ID";

    /// <summary>How long start-up waits for the sidecar's outbound health before the host refuses to start.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The sidecar's HTTP API (actors, health); null when neither variable is set.</summary>
    public Uri? HttpEndpoint { get; private set; }

    /// <summary>The sidecar's gRPC API (pub/sub, state, workflows); null when neither variable is set.</summary>
    public Uri? GrpcEndpoint { get; private set; }

    /// <summary>The configured value that could not be read as an endpoint, for the error message.</summary>
    internal string? UnreadableSetting { get; private set; }

    /// <summary><c>APP_ID</c> as daprd announced it, if it did.</summary>
    public string? AppId { get; private set; }

    /// <summary>Reads the sidecar variables the way <c>Dapr.DaprDefaults</c> does (endpoint first, then port on 127.0.0.1).</summary>
    internal void ReadSidecarVariables(IConfiguration configuration)
    {
        HttpEndpoint = Resolve(configuration, HttpEndpointKey, HttpPortKey);
        GrpcEndpoint = Resolve(configuration, GrpcEndpointKey, GrpcPortKey);
        AppId = configuration[AppIdKey] is { Length: > 0 } appId ? appId : null;
    }

    private Uri? Resolve(IConfiguration configuration, string endpointKey, string portKey)
    {
        if (configuration[endpointKey] is { Length: > 0 } endpoint)
        {
            if (Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                return uri;
            }

            UnreadableSetting ??= $"{endpointKey}='{endpoint}' is not an absolute http(s) URL";
            return null;
        }

        if (configuration[portKey] is { Length: > 0 } port)
        {
            if (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and < 65536)
            {
                return new Uri($"http://127.0.0.1:{number}");
            }

            UnreadableSetting ??= $"{portKey}='{port}' is not a port number";
        }

        return null;
    }
}
