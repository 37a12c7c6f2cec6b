using System.Collections.Concurrent;
using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Delivery.Connectors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// The Standard Webhooks signer of each simulated channel: its configured <c>WebhookSecret</c>, or
/// else a secret generated once and kept in <c>{DataDirectory}/webhooks/{channel}.secret</c> (mode 600).
/// </summary>
internal sealed class WebhookSecrets(
    IOptionsMonitor<SimulatedChannelOptions> channels,
    IOptions<Chat4AllOptions> chat4all,
    ILogger<WebhookSecrets> logger)
{
    private readonly ConcurrentDictionary<string, Lazy<StandardWebhooks>> _signers = new(StringComparer.Ordinal);

    public StandardWebhooks For(string channel) =>
        _signers.GetOrAdd(channel, c => new Lazy<StandardWebhooks>(() => new StandardWebhooks(Resolve(c)))).Value;

    public static string SecretPath(string dataDirectory, string channel) => Path.Combine(dataDirectory, "webhooks", channel + ".secret");

    private string Resolve(string channel)
    {
        if (channels.Get(channel).WebhookSecret is { Length: > 0 } configured)
        {
            return configured;
        }

        var dataDirectory = chat4all.Value.DataDirectory;
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            throw new InvalidOperationException(MissingSecretMessage(channel));
        }

        return LoadOrCreate(SecretPath(dataDirectory, channel), channel);
    }

    internal static string MissingSecretMessage(string channel) =>
        $"No webhook secret for channel '{channel}': set {SimulatedChannelOptions.SectionName(channel)}:WebhookSecret (whsec_...), " +
        $"or {Chat4AllOptions.SectionName}:DataDirectory to have one generated and kept there.";

    /// <summary>Atomic creation (temporary file, then a no-overwrite move), so instances starting together share one secret.</summary>
    private string LoadOrCreate(string path, string channel)
    {
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllText(temporary, StandardWebhooks.GenerateSecret());
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            try
            {
                File.Move(temporary, path, overwrite: false);
                SimulatorLog.WebhookSecretGenerated(logger, channel, path);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temporary); // another instance won the race; use its secret
            }
        }

        var secret = File.ReadAllText(path).Trim();
        return StandardWebhooks.IsValidSecret(secret)
            ? secret
            : throw new InvalidOperationException($"'{path}' does not contain a webhook secret (whsec_ followed by a base64 key).");
    }
}
