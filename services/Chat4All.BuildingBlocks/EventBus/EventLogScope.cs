using System.Text;
using System.Text.Json;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// The log scope of one event being handled: its id and topic, and the ids it concerns when its
/// body names them at the top level (<c>message_id</c>, <c>conversation_id</c>, <c>user_id</c>,
/// <c>sender_id</c>), so every line a consumer logs can be found by message, conversation or user.
/// Only ids are taken, never text or secrets.
/// </summary>
public static class EventLogScope
{
    private static readonly string[] IdFields = ["message_id", "conversation_id", "user_id", "sender_id"];

    public static List<KeyValuePair<string, object?>> Of(IntegrationEvent integrationEvent)
    {
        var fields = new List<KeyValuePair<string, object?>>(6)
        {
            new("event_id", integrationEvent.Id),
            new("topic", integrationEvent.Topic),
        };
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(integrationEvent.Data));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return fields;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && Array.IndexOf(IdFields, name) >= 0 && reader.TryGetGuid(out var id))
                {
                    fields.Add(new(name, id));
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // A malformed body fails in the consumer with its own error; the scope keeps what it has.
        }

        return fields;
    }
}
