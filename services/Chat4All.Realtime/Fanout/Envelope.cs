using System.Text.Json;
using System.Text.Json.Serialization;

namespace Chat4All.Realtime.Fanout;

/// <summary>
/// What travels on a user's Redis channel: a frame (already serialized, so every instance and every
/// connection sends the same bytes) and, for conversation events, the conversation and seq that let
/// a connection drop what it unsubscribed from and what it already got during a resume, and the
/// trace of the event that caused the frame, so the hand-off to the sockets joins it.
/// </summary>
internal sealed record Envelope(
    [property: JsonPropertyName("f")] string Frame,
    [property: JsonPropertyName("c")] Guid? ConversationId,
    [property: JsonPropertyName("s")] long? Seq,
    [property: JsonPropertyName("t")] long PublishedAtMs,
    [property: JsonPropertyName("tp")] string? TraceParent = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, EnvelopeJson.Default.Envelope);

    public static Envelope? FromJson(string json) => JsonSerializer.Deserialize(json, EnvelopeJson.Default.Envelope);
}

[JsonSerializable(typeof(Envelope))]
internal sealed partial class EnvelopeJson : JsonSerializerContext;
