using System.Security.Cryptography;
using Chat4All.BuildingBlocks.Hosting;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Identity.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Chat4All.Identity.Users;

/// <summary>A user as provisioned, with the only copy of its client secret (stored hashed).</summary>
public sealed record ProvisionedUser(Guid UserId, string Name, Guid TenantId, string ClientId, string ClientSecret,
    IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt);

/// <summary>Thrown for a provisioning request that breaks a rule; carries per-field messages.</summary>
public sealed class UserProvisioningException(string code, string message, IDictionary<string, string[]>? errors = null)
    : Exception(message)
{
    public string Code { get; } = code;

    public IDictionary<string, string[]> Errors { get; } = errors ?? new Dictionary<string, string[]>();
}

/// <summary>
/// Creates users: our <see cref="User"/> row and its OpenIddict confidential client, in one
/// transaction with its <c>user.created</c> event (other services keep a users read model from it). Used by the admin API, the <c>users create</c> command and demo seeding alike.
/// </summary>
public sealed class UserProvisioner(
    IdentityDbContext db,
    IOpenIddictApplicationManager applications,
    OutboxSignal outbox,
    TimeProvider time,
    IOptions<Chat4AllOptions> options)
{
    public const int MaxNameLength = Contracts.Users.RenameRequest.MaxNameLength;

    public async Task<ProvisionedUser> CreateAsync(string? name, IReadOnlyCollection<string?>? scopes, Guid? tenantId,
        CancellationToken cancellationToken, string? clientId = null)
    {
        name = name?.Trim() ?? "";
        var granted = (scopes is { Count: > 0 } ? scopes : [ChatScopes.Messages, ChatScopes.Files])
            .Select(s => s?.Trim().ToLowerInvariant() ?? "").Distinct().ToList();
        Validate(name, granted);
        var tenant = tenantId ?? options.Value.DefaultTenantId;

        if (await db.Users.AnyAsync(u => u.TenantId == tenant && u.Name == name, cancellationToken))
        {
            throw NameTaken(name);
        }

        var user = new User
        {
            Id = Guid.CreateVersion7(),
            Name = name,
            TenantId = tenant,
            ClientId = clientId ?? "c4a_" + Guid.CreateVersion7().ToString("N"),
            Scopes = granted,
            CreatedAt = time.GetUtcNow(),
        };
        var secret = NewSecret();

        // OpenIddict's stores share this scoped DbContext, so the client and the user commit together.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await applications.CreateAsync(Describe(user, secret), cancellationToken);
        db.Users.Add(user);
        db.Enqueue(Topics.UserCreated, user.Id.ToString(), new UserCreated(user.Id, user.TenantId, user.Name, user.Scopes, user.CreatedAt), user.CreatedAt);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Notify<IdentityDbContext>();

        return new ProvisionedUser(user.Id, user.Name, user.TenantId, user.ClientId, secret, user.Scopes, user.CreatedAt);
    }

    /// <summary>Issues a new client secret for an existing user; the old one stops working.</summary>
    public async Task<ProvisionedUser> ResetSecretAsync(User user, CancellationToken cancellationToken)
    {
        var application = await applications.FindByClientIdAsync(user.ClientId, cancellationToken)
            ?? throw new InvalidOperationException($"User {user.Id} has no OAuth client '{user.ClientId}'.");
        var secret = NewSecret();
        await applications.UpdateAsync(application, Describe(user, secret), cancellationToken);
        return new ProvisionedUser(user.Id, user.Name, user.TenantId, user.ClientId, secret, user.Scopes, user.CreatedAt);
    }

    public async Task<bool> HasSecretAsync(string clientId, string secret, CancellationToken cancellationToken) =>
        await applications.FindByClientIdAsync(clientId, cancellationToken) is { } application &&
        await applications.ValidateClientSecretAsync(application, secret, cancellationToken);

    private static OpenIddictApplicationDescriptor Describe(User user, string secret)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = user.ClientId,
            ClientSecret = secret,
            ClientType = ClientTypes.Confidential,
            DisplayName = user.Name,
            Permissions =
            {
                Permissions.Endpoints.Token,
                Permissions.Endpoints.Revocation,
                Permissions.GrantTypes.ClientCredentials,
                Permissions.GrantTypes.RefreshToken,
            },
        };
        foreach (var scope in user.Scopes)
        {
            descriptor.Permissions.Add(Permissions.Prefixes.Scope + scope);
        }

        return descriptor;
    }

    /// <summary>
    /// Renames a user (the name already trimmed by the caller or not): one transaction with its
    /// <c>user.renamed</c> event, which the read models holding names follow. Null for no such user;
    /// the same name again changes nothing and publishes nothing.
    /// </summary>
    public async Task<User?> RenameAsync(Guid userId, string? name, CancellationToken cancellationToken)
    {
        name = name?.Trim() ?? "";
        if (NameError(name) is { } error)
        {
            throw new UserProvisioningException("validation_failed", "The user cannot be renamed as requested.",
                new Dictionary<string, string[]> { ["name"] = [error] });
        }

        if (await db.Users.SingleOrDefaultAsync(u => u.Id == userId, cancellationToken) is not { } user)
        {
            return null;
        }

        if (user.Name == name)
        {
            return user;
        }

        if (await db.Users.AnyAsync(u => u.TenantId == user.TenantId && u.Name == name && u.Id != user.Id, cancellationToken))
        {
            throw NameTaken(name);
        }

        var now = time.GetUtcNow();
        user.Name = name;
        db.Enqueue(Topics.UserRenamed, user.Id.ToString(), new UserRenamed(user.Id, user.TenantId, name, now), now);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.InnerException is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation })
        {
            // Someone took the name between our check and our commit: the unique index decided.
            throw NameTaken(name);
        }

        outbox.Notify();
        return user;
    }

    private static UserProvisioningException NameTaken(string name) =>
        new("user_exists", $"A user named '{name}' already exists in this tenant.");

    /// <summary>The display-name rule every path applies (create, rename): null when <paramref name="name"/> (trimmed) is fine.</summary>
    public static string? NameError(string name) =>
        name.Length is 0 or > MaxNameLength || name.Any(char.IsControl) ? $"The name must be 1 to {MaxNameLength} printable characters." : null;

    private static void Validate(string name, List<string> scopes)
    {
        var errors = new Dictionary<string, string[]>();
        if (NameError(name) is { } nameError)
        {
            errors["name"] = [nameError];
        }

        var unknown = scopes.Where(s => !ChatScopes.All.Contains(s)).Select(s => s.Length == 0 ? "(empty)" : s).ToList();
        if (unknown.Count > 0)
        {
            errors["scopes"] = [$"Unknown scope(s): {string.Join(", ", unknown)}. Known scopes: {string.Join(", ", ChatScopes.All)}."];
        }

        if (errors.Count > 0)
        {
            throw new UserProvisioningException("validation_failed", "The user cannot be provisioned as requested.", errors);
        }
    }

    // 256 bits from the OS CSPRNG, URL-safe so it survives form bodies and Basic auth unescaped.
    private static string NewSecret() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
}
