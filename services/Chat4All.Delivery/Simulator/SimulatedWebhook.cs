using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Chat4All.Delivery.Connectors;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// The simulated provider's webhook body (snake_case JSON):
/// <c>{"type":"message.status","data":{"provider_message_id","status","timestamp","error"?}}</c> with
/// status delivered / read / failed, or
/// <c>{"type":"message.inbound","data":{"provider_message_id","from","text","in_reply_to"?,"timestamp"}}</c>,
/// or several status reports of one channel in one body, as real providers batch them (WhatsApp's
/// <c>statuses[]</c>): <c>{"type":"message.statuses","statuses":[{"provider_message_id","status","timestamp","error"?}, …]}</c>.
/// </summary>
public sealed record SimulatedWebhook(string Type, SimulatedWebhookData? Data, IReadOnlyList<SimulatedWebhookData>? Statuses = null)
{
    public const string StatusType = "message.status";
    public const string StatusesType = "message.statuses";
    public const string InboundType = "message.inbound";

    public static SimulatedWebhook Status(string providerMessageId, string status, DateTimeOffset timestamp, string? error = null) =>
        new(StatusType, new SimulatedWebhookData(providerMessageId, status, null, null, null, timestamp, error));

    public static SimulatedWebhook Inbound(string providerMessageId, string from, string text, string? inReplyTo, DateTimeOffset timestamp) =>
        new(InboundType, new SimulatedWebhookData(providerMessageId, null, from, text, inReplyTo, timestamp, null));

    /// <summary>Status webhooks (<see cref="StatusType"/>) combined into one <see cref="StatusesType"/> body, in the order given.</summary>
    public static SimulatedWebhook Batch(IEnumerable<SimulatedWebhook> reports) =>
        new(StatusesType, null, [.. reports.Select(r => r is { Type: StatusType, Data: { } data } ? data
            : throw new ArgumentException("Only status webhooks can be batched.", nameof(reports)))]);

    public static SimulatedWebhook FromJson(string json) =>
        JsonSerializer.Deserialize(json, SimulatorJsonContext.Default.SimulatedWebhook) ?? throw new FormatException("A webhook body is empty.");

    public string ToJson() => JsonSerializer.Serialize(this, SimulatorJsonContext.Wire.SimulatedWebhook);

    /// <summary>Reads a webhook body into what it reports; <see cref="FormatException"/> for anything else.</summary>
    public static IReadOnlyList<ChannelCallback> Parse(ReadOnlySpan<byte> body)
    {
        SimulatedWebhook? webhook;
        try
        {
            webhook = JsonSerializer.Deserialize(body, SimulatorJsonContext.Default.SimulatedWebhook);
        }
        catch (JsonException ex)
        {
            throw new FormatException("The webhook body is not a simulated provider webhook: " + ex.Message, ex);
        }

        return webhook switch
        {
            { Type: StatusType, Data: { } data } => [Report(data)],
            { Type: StatusesType, Statuses: { Count: > 0 } statuses } => [.. statuses.Select(Report)],
            { Type: InboundType, Data: { ProviderMessageId: { Length: > 0 } id, From: { Length: > 0 } from, Text: { } text, Timestamp: { } at } data } =>
                [new ChannelCallback.InboundMessage(id, from, text, data.InReplyTo, at)],
            _ => throw new FormatException(
                $"The webhook body is not a simulated provider webhook: expected type '{StatusType}', '{StatusesType}' or '{InboundType}' with their fields."),
        };
    }

    private static ChannelCallback Report(SimulatedWebhookData? data) => data switch
    {
        { ProviderMessageId: { Length: > 0 } id, Status: "delivered" or "read" or "failed", Timestamp: { } at } =>
            new ChannelCallback.StatusReport(id, data.Status, at, data.Error),
        _ => throw new FormatException("A status report needs provider_message_id, a status of delivered, read or failed, and timestamp."),
    };
}

/// <summary>The <c>data</c> of a <see cref="SimulatedWebhook"/>; which fields are set depends on its type.</summary>
public sealed record SimulatedWebhookData(
    string? ProviderMessageId,
    string? Status,
    string? From,
    string? Text,
    string? InReplyTo,
    DateTimeOffset? Timestamp,
    string? Error);

/// <summary>A webhook waiting in the callback queue: its Standard Webhooks id (the same on every retry), channel, attempt and body.</summary>
internal sealed record PendingWebhook(string Id, string Channel, int Attempt, string Body)
{
    public string ToJson() => JsonSerializer.Serialize(this, SimulatorJsonContext.Wire.PendingWebhook);

    public static PendingWebhook FromJson(string json) =>
        JsonSerializer.Deserialize(json, SimulatorJsonContext.Default.PendingWebhook)
        ?? throw new FormatException("A queued webhook is empty.");
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SimulatedWebhook))]
[JsonSerializable(typeof(PendingWebhook))]
internal sealed partial class SimulatorJsonContext : JsonSerializerContext
{
    /// <summary>As <see cref="Default"/>, but writes '+', accents and the like as themselves: these bodies never land in HTML.</summary>
    public static SimulatorJsonContext Wire { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
