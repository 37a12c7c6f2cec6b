using System.Security.Authentication;
using Chat4All.Host.Tls;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class TlsExtensions
{
    /// <summary>
    /// HTTPS and WSS on the host itself when <c>Chat4All:Tls</c> names a certificate: every
    /// <c>https://</c> endpoint serves it with TLS 1.3 and nothing older (docs/adr/0026), bound in code
    /// so that Kestrel's own rejections get problem bodies over TLS too (docs/adr/0048).
    /// </summary>
    public static IHostApplicationBuilder AddHostTls(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TlsOptions>().BindConfiguration(TlsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<TlsOptions>, IConfiguration>((kestrel, tls, configuration) =>
        {
            kestrel.ConfigureHttpsDefaults(https =>
            {
                https.SslProtocols = SslProtocols.Tls13;
                if (tls.Value.Enabled)
                {
                    https.ServerCertificate = tls.Value.LoadCertificate();
                }
            });
            if (tls.Value.Enabled)
            {
                TlsEndpoints.Bind(kestrel, configuration);
            }
        });
        return builder;
    }
}
