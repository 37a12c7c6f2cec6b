using System.Net;
using Chat4All.Delivery.Subscriptions;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.Tests.Subscriptions;

/// <summary>Which addresses webhooks may reach, by default and with private networks allowed.</summary>
public sealed class WebhookTargetPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.255.0.9", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("::", "unspecified")]
    [InlineData("239.1.2.3", "multicast")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("255.255.255.255", "reserved")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.254", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("100.64.0.1", "private")]
    [InlineData("fd00::1", "private")]
    [InlineData("::ffff:10.0.0.1", "private")]
    [InlineData("64:ff9b::7f00:1", "loopback")]
    [InlineData("2002:a9fe:a9fe::1", "link-local")]
    public void InternalAddressesAreRefusedByDefault(string address, string kind)
    {
        Assert.Equal(kind, Policy(allowPrivate: false).Refusal(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("172.15.0.1")]
    [InlineData("172.32.0.1")]
    [InlineData("100.63.255.255")]
    [InlineData("2606:4700::1111")]
    [InlineData("64:ff9b::5db8:d70e")]
    public void PublicAddressesAreAllowed(string address)
    {
        Assert.Null(Policy(allowPrivate: false).Refusal(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("10.0.0.1", null)]
    [InlineData("192.168.1.1", null)]
    [InlineData("fd00::1", null)]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("169.254.169.254", "link-local")]
    public void AllowingPrivateNetworksNeverAllowsLoopbackOrLinkLocal(string address, string? kind)
    {
        Assert.Equal(kind, Policy(allowPrivate: true).Refusal(IPAddress.Parse(address)));
    }

    [Fact]
    public async Task AnAllowListedHostIsReachableWhateverItResolvesToAndOnlyThatHost()
    {
        var policy = new WebhookTargetPolicy(Options.Create(new WebhookOptions { AllowedHosts = ["127.0.0.1", "[::1]"] }));

        Assert.Null((await policy.ResolveAsync("127.0.0.1", CancellationToken.None)).Refusal);
        Assert.Null((await policy.ResolveAsync("[::1]", CancellationToken.None)).Refusal);
        Assert.Contains("loopback", (await policy.ResolveAsync("127.0.0.2", CancellationToken.None)).Refusal, StringComparison.Ordinal);
        Assert.Contains("loopback", (await policy.ResolveAsync("localhost", CancellationToken.None)).Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAllowListEntryThatIsNoHostFailsValidation()
    {
        var options = new WebhookOptions { AllowedHosts = ["http://x/"] };

        var errors = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).ToList();

        Assert.Contains(errors, e => e.ErrorMessage!.Contains("AllowedHosts", StringComparison.Ordinal));
    }

    private static WebhookTargetPolicy Policy(bool allowPrivate) =>
        new(Options.Create(new WebhookOptions { AllowPrivateNetworks = allowPrivate }));
}
