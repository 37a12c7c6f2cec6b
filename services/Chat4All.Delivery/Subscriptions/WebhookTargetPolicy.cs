using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.Subscriptions;

/// <summary>
/// Where outbound webhooks may go (server-side request forgery defence, docs/adr/0050-outbound-webhooks.md):
/// http(s) URLs without credentials whose host resolves only to addresses that are not loopback,
/// link-local (cloud metadata lives at 169.254.169.254), unspecified, multicast, broadcast or
/// reserved — nor private unless <see cref="WebhookOptions.AllowPrivateNetworks"/> — unless the host
/// is on <see cref="WebhookOptions.AllowedHosts"/>. Checked when subscribing, and again on every
/// connection (<see cref="ConnectAsync"/>), which connects only to an address it has just checked, so
/// a name that re-resolves elsewhere (DNS rebinding) gains nothing.
/// </summary>
public sealed class WebhookTargetPolicy(IOptions<WebhookOptions> options)
{
    public const int MaxUrlLength = 2000;

    private readonly HashSet<string> _allowedHosts = new(options.Value.AllowedHosts.Select(Normalize), StringComparer.OrdinalIgnoreCase);

    private bool AllowPrivate => options.Value.AllowPrivateNetworks;

    /// <summary>The URL's shape: null when acceptable, else why not (a 400).</summary>
    public static string? CheckShape(string? url, out Uri? uri)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(url) || url.Length > MaxUrlLength)
        {
            return $"url is required, at most {MaxUrlLength} characters.";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
        {
            return "url must be an absolute http or https URL.";
        }

        if (parsed.UserInfo.Length > 0)
        {
            return "url must not carry credentials; authenticate deliveries by their signature.";
        }

        if (parsed.Fragment.Length > 0)
        {
            return "url must not have a fragment.";
        }

        uri = parsed;
        return null;
    }

    /// <summary>Whether <paramref name="host"/> is on the operator's allow-list (its addresses are then not checked).</summary>
    public bool IsAllowListed(string host) => _allowedHosts.Contains(Normalize(host));

    /// <summary>Why <paramref name="address"/> may not be a webhook target, or null if it may.</summary>
    public string? Refusal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return "loopback";
        }

        if (address.AddressFamily is AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return b[0] switch
            {
                0 => "unspecified",
                169 when b[1] == 254 => "link-local",
                >= 224 and <= 239 => "multicast",
                >= 240 => "reserved",
                10 when !AllowPrivate => "private",
                172 when b[1] is >= 16 and <= 31 && !AllowPrivate => "private",
                192 when b[1] == 168 && !AllowPrivate => "private",
                100 when b[1] is >= 64 and <= 127 && !AllowPrivate => "private", // carrier-grade NAT, often internal
                _ => null,
            };
        }

        if (address.AddressFamily is AddressFamily.InterNetworkV6)
        {
            Span<byte> b = stackalloc byte[16];
            address.TryWriteBytes(b, out _);
            if (address.Equals(IPAddress.IPv6Any))
            {
                return "unspecified";
            }

            if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal)
            {
                return "link-local";
            }

            if (address.IsIPv6Multicast)
            {
                return "multicast";
            }

            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they embed: judge that one.
            if (b[..12].SequenceEqual((ReadOnlySpan<byte>)[0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]))
            {
                return Refusal(new IPAddress(b[12..]));
            }

            if (b[0] == 0x20 && b[1] == 0x02)
            {
                return Refusal(new IPAddress(b[2..6]));
            }

            if ((b[0] & 0xFE) == 0xFC && !AllowPrivate)
            {
                return "private"; // unique local fc00::/7
            }

            return null;
        }

        return "unsupported address family";
    }

    /// <summary>
    /// Resolves <paramref name="host"/> and returns the addresses it may be reached on (all of them
    /// for an allow-listed host), or the reason none qualifies.
    /// </summary>
    public async Task<(IReadOnlyList<IPAddress> Addresses, string? Refusal)> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var bare = Normalize(host);
        IPAddress[] resolved;
        if (IPAddress.TryParse(bare, out var literal))
        {
            resolved = [literal];
        }
        else
        {
            try
            {
                resolved = await Dns.GetHostAddressesAsync(bare, cancellationToken);
            }
            catch (SocketException ex)
            {
                return ([], $"the host '{bare}' does not resolve ({ex.SocketErrorCode})");
            }
        }

        if (IsAllowListed(bare))
        {
            return (resolved, resolved.Length == 0 ? $"the host '{bare}' does not resolve" : null);
        }

        var allowed = resolved.Where(a => Refusal(a) is null).ToList();
        return allowed.Count > 0
            ? (allowed, null)
            : ([], resolved.Length == 0
                ? $"the host '{bare}' does not resolve"
                : $"the host '{bare}' resolves to a {Refusal(resolved[0])} address ({resolved[0]}), which webhooks may not target");
    }

    /// <summary>
    /// <see cref="SocketsHttpHandler.ConnectCallback"/>: resolves and checks the host now, then connects to
    /// one of the checked addresses — never to whatever a second resolution would answer.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var (addresses, refusal) = await ResolveAsync(context.DnsEndPoint.Host, cancellationToken);
        if (refusal is not null)
        {
            throw new WebhookTargetRefusedException(refusal);
        }

        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    // Uri.Host keeps IPv6 literals in brackets and names may end with the root dot.
    private static string Normalize(string host) => host.Trim().TrimStart('[').TrimEnd(']').TrimEnd('.');
}

/// <summary>A webhook target that resolved only to addresses webhooks may not reach.</summary>
public sealed class WebhookTargetRefusedException(string reason) : Exception(reason);
