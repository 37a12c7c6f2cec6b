using Chat4All.Contracts;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Data;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Chat4All.Contracts.Delivery;

namespace Chat4All.Delivery.Addresses;

/// <summary>
/// Where a user is reached on each channel. <c>/v1/me/channels</c> for the caller (scope messages),
/// <c>/v1/admin/users/{user_id}/channels</c> for operators (scope admin). An address belongs to one
/// user per channel (409 <c>address_taken</c>), and each channel's connector decides what a valid
/// address looks like (400). The list is in the user's order of preference: a message sent with
/// <c>channels</c> omitted goes to the first and falls back down the list; a new address goes last,
/// and <c>PUT .../channels/order</c> reorders them.
/// </summary>
public static class ChannelAddressesApi
{
    public static IEndpointRouteBuilder MapChannelAddressesApi(this IEndpointRouteBuilder endpoints)
    {
        var me = endpoints.MapGroup("/v1/me/channels").RequireAuthorization(ChatScopes.Messages).WithTags("Channel addresses");
        me.MapGet("/", (HttpContext http, DeliveryDbContext db, CancellationToken ct) => ListAsync(http.CallerId(), db, ct)).WithName("ListMyChannels")
            .WithSummary("List my channel addresses")
            .WithDescription("Where the caller is reachable, most preferred first.");
        me.MapPut("/{channel}", (string channel, SetChannelAddressRequest request, HttpContext http, DeliveryDbContext db, ChannelConnectors connectors,
            TimeProvider time, CancellationToken ct) => SetAsync(http.CallerId(), channel, request, db, connectors, time, ct)).WithName("SetMyChannel")
                .WithSummary("Set a channel address")
                .WithDescription("Adds or replaces the caller's address on a channel (at the end of the order when new).")
                .ProducesProblem(StatusCodes.Status409Conflict);
        me.MapDelete("/{channel}", (string channel, HttpContext http, DeliveryDbContext db, CancellationToken ct) => DeleteAsync(http.CallerId(), channel, db, ct))
            .WithName("DeleteMyChannel")
            .WithSummary("Remove a channel address")
            .WithDescription("Removes the caller's address on a channel.");
        me.MapPut("/order", (SetChannelOrderRequest request, HttpContext http, DeliveryDbContext db, CancellationToken ct) =>
            SetOrderAsync(http.CallerId(), request, db, ct)).WithName("SetMyChannelOrder")
                .WithSummary("Order my channels")
                .WithDescription("The caller's preferred channels first; the ones not named keep their order after them.");

        var admin = endpoints.MapGroup("/v1/admin/users/{userId:guid}/channels").RequireAuthorization(ChatScopes.Admin).WithTags("Channel addresses");
        admin.MapGet("/", (Guid userId, DeliveryDbContext db, CancellationToken ct) => ListAsync(userId, db, ct)).WithName("ListUserChannels")
            .WithSummary("List a user's channel addresses")
            .WithDescription("Where a user is reachable, most preferred first. Scope `admin`.");
        admin.MapPut("/{channel}", (Guid userId, string channel, SetChannelAddressRequest request, DeliveryDbContext db, ChannelConnectors connectors,
            TimeProvider time, CancellationToken ct) => SetAsync(userId, channel, request, db, connectors, time, ct)).WithName("SetUserChannel")
                .WithSummary("Set a user's channel address")
                .WithDescription("Adds or replaces a user's address on a channel. Scope `admin`.")
                .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapDelete("/{channel}", (Guid userId, string channel, DeliveryDbContext db, CancellationToken ct) => DeleteAsync(userId, channel, db, ct))
            .WithName("DeleteUserChannel")
            .WithSummary("Remove a user's channel address")
            .WithDescription("Removes a user's address on a channel. Scope `admin`.");
        admin.MapPut("/order", (Guid userId, SetChannelOrderRequest request, DeliveryDbContext db, CancellationToken ct) =>
            SetOrderAsync(userId, request, db, ct)).WithName("SetUserChannelOrder")
                .WithSummary("Order a user's channels")
                .WithDescription("A user's preferred channels first. Scope `admin`.");
        return endpoints;
    }

    public static async Task<Ok<ChannelAddressList>> ListAsync(Guid userId, DeliveryDbContext db, CancellationToken cancellationToken)
    {
        var items = await db.ChannelAddresses.AsNoTracking().Where(a => a.UserId == userId).OrderBy(a => a.Position).ThenBy(a => a.Channel)
            .Select(a => new ChannelAddressView(a.Channel, a.Address, a.UpdatedAt)).ToListAsync(cancellationToken);
        return TypedResults.Ok(new ChannelAddressList(userId, items));
    }

    /// <summary>
    /// Puts the named channels first, in the given order; addresses not named keep their relative
    /// order after them. Every named channel must be one the user has an address on (400 otherwise).
    /// </summary>
    public static async Task<Results<Ok<ChannelAddressList>, ValidationProblem>> SetOrderAsync(Guid userId, SetChannelOrderRequest request,
        DeliveryDbContext db, CancellationToken cancellationToken)
    {
        var named = request.Channels?.Select(c => c?.Trim().ToLowerInvariant()).ToList();
        var addresses = await db.ChannelAddresses.Where(a => a.UserId == userId).OrderBy(a => a.Position).ThenBy(a => a.Channel).ToListAsync(cancellationToken);
        var error = named is null or { Count: 0 } ? "A non-empty list of the channels you have an address on, most preferred first."
            : named.Any(string.IsNullOrEmpty) || named.Distinct(StringComparer.Ordinal).Count() != named.Count ? "Each channel once, no empty names."
            : named.FirstOrDefault(c => addresses.All(a => a.Channel != c)) is { } unknown
                ? $"You have no {unknown} address. Your channels: {string.Join(", ", addresses.Select(a => a.Channel))}."
            : null;
        if (error is not null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["channels"] = [error] });
        }

        var ordered = named!.Select(c => addresses.Single(a => a.Channel == c)).Concat(addresses.Where(a => !named!.Contains(a.Channel))).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            ordered[i].Position = i;
        }

        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(new ChannelAddressList(userId,
            [.. ordered.Select(a => new ChannelAddressView(a.Channel, a.Address, a.UpdatedAt))]));
    }

    public static async Task<Results<Ok<ChannelAddressView>, ValidationProblem, ProblemHttpResult>> SetAsync(Guid userId, string channel,
        SetChannelAddressRequest request, DeliveryDbContext db, ChannelConnectors connectors, TimeProvider time, CancellationToken cancellationToken)
    {
        channel = channel.ToLowerInvariant();
        if (!connectors.TryGet(channel, out var connector))
        {
            return Problems.NotFound("unknown_channel", $"No channel '{channel}'. Channels: {string.Join(", ", Channels.All)}.");
        }

        var address = request.Address?.Trim();
        if (string.IsNullOrEmpty(address) || !connector.IsValidAddress(address))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["address"] = [$"Not a valid {channel} address."],
            });
        }

        var now = time.GetUtcNow();
        try
        {
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO delivery.channel_addresses (user_id, channel, address, updated_at, position)
                VALUES ({userId}, {channel}, {address}, {now},
                        (SELECT coalesce(max(position) + 1, 0) FROM delivery.channel_addresses WHERE user_id = {userId}))
                ON CONFLICT (user_id, channel) DO UPDATE SET address = EXCLUDED.address, updated_at = EXCLUDED.updated_at
                """, cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "address_taken", $"That {channel} address belongs to another user.");
        }

        return TypedResults.Ok(new ChannelAddressView(channel, address, now));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid userId, string channel, DeliveryDbContext db, CancellationToken cancellationToken)
    {
        channel = channel.ToLowerInvariant();
        var deleted = await db.ChannelAddresses.Where(a => a.UserId == userId && a.Channel == channel).ExecuteDeleteAsync(cancellationToken);
        return deleted == 0 ? Problems.NotFound("channel_address_not_found", $"No {channel} address.") : TypedResults.NoContent();
    }
}
