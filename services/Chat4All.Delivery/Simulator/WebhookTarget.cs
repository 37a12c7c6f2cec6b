using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// Where the simulated providers POST webhooks: <c>WebhookBaseUrl</c>, or else this host's own
/// listening address, with a wildcard host (0.0.0.0, [::], +, *) reached through 127.0.0.1.
/// </summary>
internal sealed class WebhookTarget(IOptions<ChannelSimulatorOptions> options, IServiceProvider services)
{
    private Uri? _resolved = options.Value.WebhookBaseUrl;

    /// <summary>The base URL, or null while the server has not published its addresses yet (or there is no server).</summary>
    public Uri? BaseUrl => _resolved ??= FromServerAddresses(services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);

    public static Uri Webhook(Uri baseUrl, string channel) => new($"{baseUrl.AbsoluteUri.TrimEnd('/')}/v1/webhooks/{Uri.EscapeDataString(channel)}");

    /// <summary>The first plain-HTTP TCP address (else the first HTTPS one), wildcard hosts mapped to 127.0.0.1.</summary>
    public static Uri? FromServerAddresses(IEnumerable<string> addresses)
    {
        var candidates = addresses
            .Select(BindingAddress.Parse)
            .Where(a => !a.IsUnixPipe && !a.IsNamedPipe && a.Port > 0)
            .OrderBy(a => string.Equals(a.Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase) ? 0 : 1)
            .ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var address = candidates[0];
        var host = address.Host is "0.0.0.0" or "[::]" or "::" or "+" or "*" ? "127.0.0.1" : address.Host;
        return new UriBuilder(address.Scheme, host, address.Port, address.PathBase).Uri;
    }
}
