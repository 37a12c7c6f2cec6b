using Chat4All.Contracts;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Chat4All.Contracts.Delivery;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// Operator controls of the simulated providers (scope admin), for demos and drills: see each
/// channel's state, take a channel down and bring it back (every instance sees it), and make a
/// channel contact write in — as a reply to one of our provider message ids — and see a message as
/// the provider holds it, with the edits and recalls applied to it.
/// </summary>
public static class SimulatorApi
{
    public static IEndpointRouteBuilder MapSimulatorApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/admin/simulator/channels").RequireAuthorization(ChatScopes.Admin).WithTags("Channel simulator");
        group.MapGet("/", ListAsync).WithName("ListSimulatedChannels")
            .WithSummary("List simulated channels")
            .WithDescription("Each simulated provider's outage state. Scope `admin`.");
        group.MapPut("/{channel}/outage", SetOutageAsync).WithName("SetSimulatedOutage")
            .WithSummary("Set a simulated outage")
            .WithDescription("Starts or ends an outage of a simulated provider: sends fail, retry and dead-letter (or fall back). Scope `admin`.");
        group.MapPost("/{channel}/inbound", InboundAsync).WithName("SimulateInboundMessage")
            .WithSummary("Simulate an inbound message")
            .WithDescription("A contact writes to a user on a channel; the message joins their conversation. Scope `admin`.");
        group.MapGet("/{channel}/messages/{providerMessageId}", GetMessageAsync).WithName("GetSimulatedProviderMessage")
            .WithSummary("Inspect a message at a simulated provider")
            .WithDescription("The message as the provider holds it now: its text (null once recalled) and every edit or recall applied to it. Scope `admin`.");
        return endpoints;
    }

    public static async Task<Results<Ok<SimulatedProviderMessage>, ProblemHttpResult>> GetMessageAsync(string channel, string providerMessageId,
        ChannelSimulator simulator)
    {
        if (!Channels.All.Contains(channel))
        {
            return Problems.NotFound("unknown_channel", $"No channel '{channel}'.");
        }

        return await simulator.GetMessageAsync(channel, providerMessageId) is { } message
            ? TypedResults.Ok(message)
            : Problems.NotFound("provider_message_not_found", $"The {channel} provider has no message '{providerMessageId}'.");
    }

    public static async Task<Ok<IReadOnlyList<SimulatedChannelState>>> ListAsync(ChannelSimulator simulator)
    {
        var states = new List<SimulatedChannelState>();
        foreach (var channel in Channels.All)
        {
            states.Add(new SimulatedChannelState(channel, await simulator.IsInOutageAsync(channel), await simulator.GetAcceptedCountAsync(channel)));
        }

        return TypedResults.Ok<IReadOnlyList<SimulatedChannelState>>(states);
    }

    public static async Task<Results<Ok<SimulatedChannelState>, ProblemHttpResult>> SetOutageAsync(string channel, SetOutageRequest request,
        ChannelSimulator simulator)
    {
        if (!Channels.All.Contains(channel))
        {
            return Problems.NotFound("unknown_channel", $"No channel '{channel}'.");
        }

        await simulator.SetOutageAsync(channel, request.Down);
        return TypedResults.Ok(new SimulatedChannelState(channel, request.Down, await simulator.GetAcceptedCountAsync(channel)));
    }

    public static async Task<Results<Accepted<SimulatedInbound>, ValidationProblem, ProblemHttpResult>> InboundAsync(string channel,
        SimulateInboundRequest request, ChannelSimulator simulator)
    {
        if (!Channels.All.Contains(channel))
        {
            return Problems.NotFound("unknown_channel", $"No channel '{channel}'.");
        }

        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.From))
        {
            errors["from"] = ["from is the contact's address on the channel."];
        }

        if (string.IsNullOrWhiteSpace(request.Text))
        {
            errors["text"] = ["text must not be empty."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var id = await simulator.SimulateInboundAsync(channel, request.From!, request.Text!, request.InReplyTo);
        return TypedResults.Accepted((string?)null, new SimulatedInbound(channel, id));
    }
}
