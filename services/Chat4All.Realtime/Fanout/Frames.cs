using System.Text.Json;
using Chat4All.Contracts;
using Chat4All.Contracts.Realtime;

namespace Chat4All.Realtime.Fanout;

/// <summary>Builds the <c>{type, timestamp, data}</c> frames of the WebSocket contract, snake_case like the REST API.</summary>
internal static class Frames
{
    public static string Serialize(string type, object? data, DateTimeOffset timestamp) =>
        JsonSerializer.Serialize(new ServerFrame<object?>(type, timestamp, data), ContractJson.Options);

    /// <summary>A frame around data that is already JSON (the message log keeps message.created data as JSON).</summary>
    public static string SerializeRaw(string type, string dataJson, DateTimeOffset timestamp) =>
        "{\"type\":" + JsonSerializer.Serialize(type) + ",\"timestamp\":" + JsonSerializer.Serialize(timestamp) + ",\"data\":" + dataJson + "}";
}
