using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

public static class RedisExtensions
{
    public const string ConnectionStringName = "Redis";

    /// <summary>
    /// Registers the process-wide <see cref="IConnectionMultiplexer"/> (connection string
    /// <c>ConnectionStrings:Redis</c>). It connects in the background and reconnects by itself, so
    /// the host starts (unready) while Redis is down and becomes ready when it returns.
    /// </summary>
    public static IHostApplicationBuilder AddChat4AllRedis(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<IConnectionMultiplexer>(sp =>
        {
            var connectionString = sp.GetRequiredService<IConfiguration>().GetConnectionString(ConnectionStringName);
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidOperationException(
                    "ConnectionStrings:Redis is not set. Start the platform with scripts/run.sh, or set ConnectionStrings__Redis.");
            }

            var options = ConfigurationOptions.Parse(connectionString);
            options.AbortOnConnectFail = false;
            options.ConnectTimeout = Math.Min(options.ConnectTimeout, 5000);
            options.ClientName ??= "chat4all";
            return ConnectionMultiplexer.Connect(options);
        });
        return builder;
    }
}
