using System.Text.Json;
using System.Text.Json.Serialization;

namespace Chat4All.Realtime.Fanout;

/// <summary>
/// What travels on a user's Redis channel: a frame (already serialized, so every instance and every
/// connection sends the same bytes) and, for conversation events, the conversation and seq that let
/// a connection drop what it unsubscribed from and what it already got during a resume. A membership
/// change also names who left the conversation (and at which seq) or joined it, so that user's
/// sockets stop or start passing its frames on, whichever instance holds them (docs/adr/0041). The
/// trace of the event behind the frame rides along, so the hand-off to the sockets joins it.
/// </summary>
internal sealed record Envelope(
    [property: JsonPropertyName("f")] string Frame,
    [property: JsonPropertyName("c")] Guid? ConversationId,
    [property: JsonPropertyName("s")] long? Seq,
    [property: JsonPropertyName("t")] long PublishedAtMs,
    [property: JsonPropertyName("l"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? Left = null,
    [property: JsonPropertyName("ls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? LeftAtSeq = null,
    [property: JsonPropertyName("j"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<Guid>? Joined = null,
    [property: JsonPropertyName("tp"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TraceParent = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, EnvelopeJson.Default.Envelope);

    public static Envelope? FromJson(string json) => JsonSerializer.Deserialize(json, EnvelopeJson.Default.Envelope);
}

[JsonSerializable(typeof(Envelope))]
internal sealed partial class EnvelopeJson : JsonSerializerContext;
