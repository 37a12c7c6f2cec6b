using System.Diagnostics.CodeAnalysis;

namespace Chat4All.Delivery.Connectors;

/// <summary>The registered <see cref="IChannelConnector"/>s by channel name: one connector per channel.</summary>
public sealed class ChannelConnectors
{
    private readonly Dictionary<string, IChannelConnector> _byChannel;

    public ChannelConnectors(IEnumerable<IChannelConnector> connectors)
    {
        All = [.. connectors];
        _byChannel = new Dictionary<string, IChannelConnector>(StringComparer.OrdinalIgnoreCase);
        foreach (var connector in All)
        {
            if (!_byChannel.TryAdd(connector.Channel, connector))
            {
                throw new InvalidOperationException(
                    $"Two connectors serve channel '{connector.Channel}': {_byChannel[connector.Channel].GetType().Name} and {connector.GetType().Name}.");
            }
        }
    }

    public IReadOnlyList<IChannelConnector> All { get; }

    public IEnumerable<string> Channels => _byChannel.Keys;

    /// <summary>The connector of <paramref name="channel"/>; <see cref="KeyNotFoundException"/> if none is registered.</summary>
    public IChannelConnector this[string channel] =>
        TryGet(channel, out var connector) ? connector : throw new KeyNotFoundException($"No connector is registered for channel '{channel}'.");

    public bool TryGet(string channel, [NotNullWhen(true)] out IChannelConnector? connector) => _byChannel.TryGetValue(channel, out connector);
}
