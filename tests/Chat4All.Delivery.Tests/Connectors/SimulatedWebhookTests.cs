using System.Text;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Simulator;

namespace Chat4All.Delivery.Tests.Connectors;

public sealed class SimulatedWebhookTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 24, 12, 0, 0, 123, TimeSpan.Zero);

    [Fact]
    public void StatusWebhookIsWrittenInTheDocumentedShape()
    {
        Assert.Equal(
            """{"type":"message.status","data":{"provider_message_id":"sms.1","status":"failed","timestamp":"2026-11-24T12:00:00.123+00:00","error":"handset_off"}}""",
            SimulatedWebhook.Status("sms.1", "failed", At, "handset_off").ToJson());
        Assert.Equal(
            """{"type":"message.inbound","data":{"provider_message_id":"sms.2","from":"+5511999990000","text":"olá","timestamp":"2026-11-24T12:00:00.123+00:00"}}""",
            SimulatedWebhook.Inbound("sms.2", "+5511999990000", "olá", null, At).ToJson());
    }

    [Theory]
    [InlineData("delivered")]
    [InlineData("read")]
    [InlineData("failed")]
    public void StatusWebhookReadsAsAStatusReport(string status)
    {
        var body = $$$"""{"type":"message.status","data":{"provider_message_id":"wa.1","status":"{{{status}}}","timestamp":"2026-11-24T12:00:00.123Z"}}""";

        var callback = Assert.Single(SimulatedWebhook.Parse(Encoding.UTF8.GetBytes(body)));

        Assert.Equal(new ChannelCallback.StatusReport("wa.1", status, At), callback);
    }

    [Fact]
    public void InboundWebhookReadsAsAnInboundMessage()
    {
        var body = """{"type":"message.inbound","data":{"provider_message_id":"tg.9","from":"@maria_silva","text":"olá","in_reply_to":"tg.1","timestamp":"2026-11-24T12:00:00.123Z"}}""";

        var callback = Assert.Single(SimulatedWebhook.Parse(Encoding.UTF8.GetBytes(body)));

        Assert.Equal(new ChannelCallback.InboundMessage("tg.9", "@maria_silva", "olá", "tg.1", At), callback);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"type":"message.reaction","data":{"provider_message_id":"x","timestamp":"2026-11-24T12:00:00Z"}}""")]
    [InlineData("""{"type":"message.status","data":{"provider_message_id":"x","status":"sent","timestamp":"2026-11-24T12:00:00Z"}}""")]
    [InlineData("""{"type":"message.status","data":{"status":"delivered","timestamp":"2026-11-24T12:00:00Z"}}""")]
    [InlineData("""{"type":"message.status","data":{"provider_message_id":"x","status":"delivered"}}""")]
    [InlineData("""{"type":"message.status","data":{"provider_message_id":"x","status":"delivered","timestamp":"soon"}}""")]
    [InlineData("""{"type":"message.inbound","data":{"provider_message_id":"x","text":"hi","timestamp":"2026-11-24T12:00:00Z"}}""")]
    [InlineData("""{"type":"message.inbound","data":{"provider_message_id":"x","from":"+5511999990000","timestamp":"2026-11-24T12:00:00Z"}}""")]
    public void AnythingElseIsAFormatException(string body)
    {
        Assert.Throws<FormatException>(() => SimulatedWebhook.Parse(Encoding.UTF8.GetBytes(body)));
    }
}
