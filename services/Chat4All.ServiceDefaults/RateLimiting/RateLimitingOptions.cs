using System.ComponentModel.DataAnnotations;

namespace Chat4All.ServiceDefaults.RateLimiting;

/// <summary>Per-user request budgets, shared by every instance through Redis. Bound from <c>Chat4All:RateLimiting</c>.</summary>
public sealed class RateLimitingOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:RateLimiting";

    /// <summary>Budget for state-changing requests of endpoints that name none.</summary>
    public const string DefaultBudget = "default";

    /// <summary>Budget for file chunk uploads, so a 2 GiB upload never trips the message limit.</summary>
    public const string UploadsBudget = "uploads";

    /// <summary>Attempts at the OAuth endpoints per source address (anonymous callers included).</summary>
    public const string TokenAddressBudget = "token_address";

    /// <summary>Attempts at the OAuth endpoints per presented client id, whether or not it exists.</summary>
    public const string TokenClientBudget = "token_client";

    public bool Enabled { get; set; } = true;

    public Dictionary<string, RateLimitBudget> Budgets { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        [DefaultBudget] = new() { PermitLimit = 60, Window = TimeSpan.FromMinutes(1) },
        [UploadsBudget] = new() { PermitLimit = 1200, Window = TimeSpan.FromMinutes(1) },
        [TokenAddressBudget] = new() { PermitLimit = 600, Window = TimeSpan.FromMinutes(1) },
        [TokenClientBudget] = new() { PermitLimit = 60, Window = TimeSpan.FromMinutes(1) },
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Budgets.ContainsKey(DefaultBudget))
        {
            yield return new ValidationResult($"{SectionName}:Budgets must define the '{DefaultBudget}' budget.");
        }

        foreach (var (name, budget) in Budgets)
        {
            if (budget.PermitLimit < 1)
            {
                yield return new ValidationResult($"{SectionName}:Budgets:{name}:PermitLimit must be at least 1.");
            }

            if (budget.Window < TimeSpan.FromSeconds(1) || budget.Window > TimeSpan.FromDays(1))
            {
                yield return new ValidationResult($"{SectionName}:Budgets:{name}:Window must be between 00:00:01 and 1.00:00:00.");
            }
        }
    }
}

public sealed class RateLimitBudget
{
    public int PermitLimit { get; set; }

    public TimeSpan Window { get; set; }
}

/// <summary>Endpoint metadata naming the budget a route draws from (see <c>WithRateLimitBudget</c>).</summary>
public sealed record RateLimitBudgetMetadata(string Budget);
