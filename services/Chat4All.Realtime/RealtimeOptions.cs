using System.ComponentModel.DataAnnotations;

namespace Chat4All.Realtime;

/// <summary>WebSocket settings, bound from <c>Chat4All:Realtime</c>; see docs/adr/0010-realtime.md.</summary>
public sealed class RealtimeOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Realtime";

    /// <summary>Live connections per user across all instances; the next one is closed with 4008.</summary>
    [Range(1, 1000)]
    public int MaxConnectionsPerUser { get; set; } = 10;

    /// <summary>How often the server pings each connection.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A ping not answered by a pong within this closes the connection with 1001.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan PongTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Frames queued for one connection; a client too slow to take them is closed (4008) instead of buffered without bound.</summary>
    [Range(8, 100_000)]
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>Largest frame a client may send; a larger one closes the connection with 1009.</summary>
    [Range(256, 1024 * 1024)]
    public int MaxInboundFrameBytes { get; set; } = 16 * 1024;

    /// <summary>Frames a client may send per second (with a burst of twice that); more closes the connection with 4008.</summary>
    [Range(1, 10_000)]
    public int InboundFramesPerSecond { get; set; } = 20;

    /// <summary>Messages one <c>resume</c> replays per conversation at most; beyond it <c>recovered</c> is false and the client pages history.</summary>
    [Range(1, 1_000_000)]
    public int MaxReplayPerConversation { get; set; } = 10_000;

    /// <summary>Distinct conversations one <c>resume</c> may name; a larger frame is refused whole with an <c>error</c> frame.</summary>
    [Range(1, 10_000)]
    public int MaxResumeConversations { get; set; } = 100;

    /// <summary>
    /// Replay pages (of <c>ReplayPageSize</c> messages) one connection may read per second, with a burst of
    /// twice that. A longer replay waits for its budget, and the connection reads no other frame meanwhile.
    /// </summary>
    [Range(1, 10_000)]
    public int ReplayPagesPerSecond { get; set; } = 20;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PongTimeout >= HeartbeatInterval)
        {
            yield return new ValidationResult($"{SectionName}:PongTimeout must be shorter than HeartbeatInterval.", [nameof(PongTimeout)]);
        }
    }
}
