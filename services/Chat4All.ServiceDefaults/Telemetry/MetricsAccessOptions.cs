using System.ComponentModel.DataAnnotations;

namespace Chat4All.ServiceDefaults.Telemetry;

/// <summary>
/// Who may read <c>/metrics</c>. Bound from <c>Chat4All:Metrics</c>. Default: anyone who can reach
/// the port, as Prometheus scrapes inside the cluster network; set either or both to close it.
/// </summary>
public sealed class MetricsAccessOptions
{
    public const string SectionName = "Chat4All:Metrics";

    /// <summary>Serve <c>/metrics</c> only on connections to this local port (a management listener; add it to the URLs).</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Require <c>Authorization: Bearer &lt;token&gt;</c> on <c>/metrics</c> (a Prometheus <c>authorization</c> credential).</summary>
    [MinLength(32)]
    public string? BearerToken { get; set; }
}
