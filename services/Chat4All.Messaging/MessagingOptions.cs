using System.ComponentModel.DataAnnotations;

namespace Chat4All.Messaging;

/// <summary>Messaging settings. Bound from <c>Chat4All:Messaging</c>.</summary>
public sealed class MessagingOptions
{
    public const string SectionName = "Chat4All:Messaging";

    /// <summary>Longest accepted text payload, in characters (API.md default 4096; the request size limit allows 64 Ki).</summary>
    [Range(1, 65_536)]
    public int MaxTextLength { get; set; } = 4096;

    [Range(3, 10_000)]
    public int MaxGroupMembers { get; set; } = 100;
}
