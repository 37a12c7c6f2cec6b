using System.Net;
using Chat4All.ServiceDefaults.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Chat4All.Host.Tls;

/// <summary>
/// Binds the host's endpoints in code when it serves TLS itself, so that on every https endpoint the
/// connection middleware for Kestrel's own rejections comes after <c>UseHttps</c> and sees plaintext
/// (docs/adr/0048). The addresses are the ones a person gave: <c>--urls</c> / <c>ASPNETCORE_URLS</c>,
/// else <c>ASPNETCORE_HTTP_PORTS</c> / <c>ASPNETCORE_HTTPS_PORTS</c>, else the named
/// <c>Kestrel:Endpoints</c>, which Kestrel keeps binding itself.
/// </summary>
internal static class TlsEndpoints
{
    public static void Bind(KestrelServerOptions kestrel, IConfiguration configuration)
    {
        var configured = configuration.GetSection("Kestrel:Endpoints").GetChildren().ToList();
        if (configured.Count > 0)
        {
            // Kestrel binds these (and then ignores the URLs, as before); TLS goes on here, before the
            // loader would add it itself. Endpoints with SNI keep the loader's own TLS setup.
            foreach (var endpoint in configured.Where(e => !e.GetSection("Sni").GetChildren().Any()))
            {
                kestrel.ConfigurationLoader?.Endpoint(endpoint.Key, bound =>
                {
                    if (bound.IsHttps)
                    {
                        bound.ListenOptions.UseHttps(bound.HttpsOptions).UseRejectionProblems();
                    }
                });
            }

            return;
        }

        foreach (var url in Addresses(configuration))
        {
            Listen(kestrel, BindingAddress.Parse(url));
        }
    }

    private static string[] Addresses(IConfiguration configuration)
    {
        const StringSplitOptions Split = StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries;
        if (configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls)
        {
            return urls.Split(';', Split);
        }

        return [.. PortsAsUrls(configuration[WebHostDefaults.HttpPortsKey], Uri.UriSchemeHttp),
            .. PortsAsUrls(configuration[WebHostDefaults.HttpsPortsKey], Uri.UriSchemeHttps)];

        // Kestrel's own reading of the ports settings: every interface.
        static IEnumerable<string> PortsAsUrls(string? ports, string scheme) =>
            (ports ?? "").Split(';', Split).Select(port => $"{scheme}://*:{port}");
    }

    private static void Listen(KestrelServerOptions kestrel, BindingAddress address)
    {
        Action<ListenOptions> configure = address.Scheme == Uri.UriSchemeHttps
            ? listen => listen.UseHttps().UseRejectionProblems() // UseHttps() takes the TLS 1.3 defaults and certificate
            : _ => { };
        if (address.IsUnixPipe)
        {
            kestrel.ListenUnixSocket(address.UnixPipePath, configure);
        }
        else if (address.IsNamedPipe)
        {
            kestrel.ListenNamedPipe(address.NamedPipeName, configure);
        }
        else if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(address.Port, configure);
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, address.Port, configure);
        }
        else
        {
            // "*", "+" or a host name: every interface, as Kestrel binds such a URL itself.
            kestrel.ListenAnyIP(address.Port, configure);
        }
    }
}
