using System.Text;
using Chat4All.Contracts;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Simulator;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Chat4All.Delivery.Tests.Connectors;

public sealed class ConnectorRegistrationTests : IAsyncLifetime
{
    private SimulatorRedis _redis = null!;
    private SimulatorHost _host = null!;

    public async Task InitializeAsync()
    {
        _redis = await SimulatorRedis.CreateAsync();
        _host = await SimulatorHost.StartAsync(_redis.Settings());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public void EveryChannelHasExactlyOneConnectorInTheRegistry()
    {
        var connectors = _host.Connectors;

        Assert.Equal(Channels.All.Order(), connectors.All.Select(c => c.Channel).Order());
        Assert.All(Channels.All, channel => Assert.Equal(channel, connectors[channel].Channel));
        Assert.Equal(connectors.All, _host.Services.GetServices<IChannelConnector>());
        Assert.False(connectors.TryGet("fax", out _));
        Assert.Throws<KeyNotFoundException>(() => connectors["fax"]);
    }

    [Fact]
    public void RegisteringTwiceRegistersEachConnectorOnce()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.AddSimulatedChannelConnectors();
        builder.AddSimulatedChannelConnectors();

        Assert.Equal(5, builder.Services.Count(d => d.ServiceType == typeof(IChannelConnector)));
    }

    [Theory]
    [InlineData(Channels.WhatsApp, "+5511999990000", true)]
    [InlineData(Channels.WhatsApp, "+14155550123", true)]
    [InlineData(Channels.WhatsApp, "+1234567", true)]
    [InlineData(Channels.WhatsApp, "+123456789012345", true)]
    [InlineData(Channels.WhatsApp, "5511999990000", false)]
    [InlineData(Channels.WhatsApp, "+05511999990000", false)]
    [InlineData(Channels.WhatsApp, "+123456", false)]
    [InlineData(Channels.WhatsApp, "+1234567890123456", false)]
    [InlineData(Channels.WhatsApp, "+55 11 99999-0000", false)]
    [InlineData(Channels.WhatsApp, "+5511999990000\n", false)]
    [InlineData(Channels.WhatsApp, "+551199999٠٠٠٠", false)]
    [InlineData(Channels.Sms, "+5511999990000", true)]
    [InlineData(Channels.Sms, "+447911123456", true)]
    [InlineData(Channels.Sms, "", false)]
    [InlineData(Channels.Sms, "@maria", false)]
    [InlineData(Channels.Sms, "+44 7911 123456", false)]
    [InlineData(Channels.Instagram, "@maria.silva", true)]
    [InlineData(Channels.Instagram, "maria_silva", true)]
    [InlineData(Channels.Instagram, "m", true)]
    [InlineData(Channels.Instagram, "abcdefghijklmnopqrstuvwxyz0123", true)]
    [InlineData(Channels.Instagram, "abcdefghijklmnopqrstuvwxyz01234", false)]
    [InlineData(Channels.Instagram, "@", false)]
    [InlineData(Channels.Instagram, "maria silva", false)]
    [InlineData(Channels.Instagram, "maria-silva", false)]
    [InlineData(Channels.Instagram, "@@maria", false)]
    [InlineData(Channels.Telegram, "@maria_silva", true)]
    [InlineData(Channels.Telegram, "@abcde", true)]
    [InlineData(Channels.Telegram, "@abcd", false)]
    [InlineData(Channels.Telegram, "@a2345678901234567890123456789012", true)]
    [InlineData(Channels.Telegram, "@a23456789012345678901234567890123", false)]
    [InlineData(Channels.Telegram, "@1maria", false)]
    [InlineData(Channels.Telegram, "@maria_", false)]
    [InlineData(Channels.Telegram, "maria_silva", false)]
    [InlineData(Channels.Telegram, "123456789", true)]
    [InlineData(Channels.Telegram, "-1001234567890", true)]
    [InlineData(Channels.Telegram, "0123", false)]
    [InlineData(Channels.Telegram, "12.5", false)]
    [InlineData(Channels.Messenger, "1234567890", true)]
    [InlineData(Channels.Messenger, "12345678901234567890", true)]
    [InlineData(Channels.Messenger, "123456789", false)]
    [InlineData(Channels.Messenger, "123456789012345678901", false)]
    [InlineData(Channels.Messenger, "@maria", false)]
    [InlineData(Channels.Messenger, "+5511999990000", false)]
    public void AddressFormatIsCheckedPerChannel(string channel, string address, bool valid)
    {
        Assert.Equal(valid, _host.Connectors[channel].IsValidAddress(address));
    }

    [Fact]
    public async Task InvalidChannelOptionsStopTheHostFromStartingWithTheirSectionInTheMessage()
    {
        var settings = _redis.Settings(
            ($"{SimulatedChannelOptions.SectionName(Channels.Sms)}:TransientFailureRate", "1.5"),
            ($"{SimulatedChannelOptions.SectionName(Channels.Telegram)}:UnreachablePattern", "(unclosed"),
            ($"{SimulatedChannelOptions.SectionName(Channels.WhatsApp)}:WebhookSecret", "not-a-secret"));
        using var host = SimulatorHost.Build(settings);

        // One failing options instance throws it alone; several are reported together.
        var error = await Assert.ThrowsAsync<AggregateException>(() => host.StartAsync());

        Assert.All(error.InnerExceptions, e => Assert.IsType<OptionsValidationException>(e));
        Assert.Contains("Chat4All:Delivery:Channels:sms: The field TransientFailureRate", error.Message, StringComparison.Ordinal);
        Assert.Contains("Chat4All:Delivery:Channels:telegram: UnreachablePattern", error.Message, StringComparison.Ordinal);
        Assert.Contains("Chat4All:Delivery:Channels:whatsapp: WebhookSecret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChannelWithoutSecretOrDataDirectoryStopsTheHostFromStarting()
    {
        var settings = _redis.Settings();
        settings.Remove($"{SimulatedChannelOptions.SectionName(Channels.Messenger)}:WebhookSecret");
        using var host = SimulatorHost.Build(settings);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("No webhook secret for channel 'messenger'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GeneratedWebhookSecretIsKeptInTheDataDirectoryAndSurvivesARestart()
    {
        using var dataDirectory = new TemporaryDirectory();
        var settings = _redis.Settings(("Chat4All:DataDirectory", dataDirectory.Path));
        foreach (var channel in Channels.All)
        {
            settings.Remove($"{SimulatedChannelOptions.SectionName(channel)}:WebhookSecret");
        }

        var body = Encoding.UTF8.GetBytes("""{"type":"message.status"}""");
        var now = DateTimeOffset.UtcNow;
        IReadOnlyList<KeyValuePair<string, string>> signed;
        await using (var first = await SimulatorHost.StartAsync(settings))
        {
            signed = first.Services.GetRequiredService<WebhookSecrets>().For(Channels.Sms).CreateHeaders("msg_1", now, body);
        }

        var path = Path.Combine(dataDirectory.Path, "webhooks", "sms.secret");
        Assert.StartsWith("whsec_", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        await using var restarted = await SimulatorHost.StartAsync(settings);
        var headers = new HeaderDictionary(signed.ToDictionary(h => h.Key, h => new StringValues(h.Value)));
        Assert.True(restarted.Connectors[Channels.Sms].VerifyWebhook(headers, body, now).Valid);
        Assert.False(restarted.Connectors[Channels.WhatsApp].VerifyWebhook(headers, body, now).Valid);
    }
}
