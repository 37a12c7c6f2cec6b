using System.ComponentModel.DataAnnotations;
using Chat4All.Contracts;

namespace Chat4All.BuildingBlocks.Hosting;

/// <summary>How building blocks are provided (docs/architecture.md §1).</summary>
public enum Chat4AllRuntime
{
    Standalone,
    Dapr,
}

/// <summary>The host's two switches plus where local state lives. Bound from <c>Chat4All</c>.</summary>
public sealed class Chat4AllOptions : IValidatableObject
{
    public const string SectionName = "Chat4All";

    /// <summary><c>all</c>, or a comma-separated list of target names (<see cref="Targets"/>).</summary>
    [Required]
    public string Targets { get; set; } = Contracts.Targets.All;

    public Chat4AllRuntime Runtime { get; set; } = Chat4AllRuntime.Standalone;

    /// <summary>Folder for local state (generated keys, local blobs). Required only when something needs it.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Tenant given to users provisioned without an explicit one.</summary>
    public Guid DefaultTenantId { get; set; } = new("00000000-0000-0000-0000-000000000001");

    public IReadOnlySet<string> SelectedTargets => ParseTargets(Targets);

    public bool Runs(string target) => SelectedTargets.Contains(target);

    public static IReadOnlySet<string> ParseTargets(string value)
    {
        var names = value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(n => n.ToLowerInvariant())
            .ToHashSet(StringComparer.Ordinal);
        if (names.Remove(Contracts.Targets.All))
        {
            names.UnionWith(Contracts.Targets.Implemented);
        }

        return names;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var names = ParseTargets(Targets);
        if (names.Count == 0)
        {
            yield return new ValidationResult("Chat4All:Targets (--target) names no service; use 'all' or a list such as 'identity'.", [nameof(Targets)]);
        }

        foreach (var unknown in names.Where(n => !Contracts.Targets.Known.Contains(n)))
        {
            yield return new ValidationResult(
                $"Unknown target '{unknown}'. Known targets: all, {string.Join(", ", Contracts.Targets.Known)}.", [nameof(Targets)]);
        }

        foreach (var missing in names.Where(n => Contracts.Targets.Known.Contains(n) && !Contracts.Targets.Implemented.Contains(n)))
        {
            yield return new ValidationResult(
                $"Target '{missing}' is not part of this build yet. Implemented targets: {string.Join(", ", Contracts.Targets.Implemented)}.", [nameof(Targets)]);
        }
    }
}
