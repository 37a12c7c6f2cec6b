using System.ComponentModel.DataAnnotations;

namespace Chat4All.Messaging;

/// <summary>Messaging settings. Bound from <c>Chat4All:Messaging</c>.</summary>
public sealed class MessagingOptions
{
    public const string SectionName = "Chat4All:Messaging";

    /// <summary>Longest accepted text payload, in characters (docs/api.md §4.2 default 4096; the request size limit allows 64 Ki).</summary>
    [Range(1, 65_536)]
    public int MaxTextLength { get; set; } = 4096;

    [Range(3, 10_000)]
    public int MaxGroupMembers { get; set; } = 100;

    /// <summary>Per-tenant settings, keyed by tenant id; a tenant not listed gets the defaults of <see cref="TenantSettings"/>.</summary>
    public Dictionary<string, TenantSettings> Tenants { get; set; } = [];

    public TenantSettings For(Guid tenantId) => Tenants.GetValueOrDefault(tenantId.ToString()) ?? TenantSettings.Default;
}

/// <summary>What a tenant allows its users (docs/adr/0028).</summary>
public sealed class TenantSettings
{
    public static readonly TenantSettings Default = new();

    /// <summary>
    /// Whether a user may start a private conversation with someone of the tenant they share no
    /// conversation with yet (a stranger). Default: yes; when off, private conversations only grow
    /// out of existing ones (e.g. a group both are in).
    /// </summary>
    public bool StrangersMayStartPrivate { get; set; } = true;
}
