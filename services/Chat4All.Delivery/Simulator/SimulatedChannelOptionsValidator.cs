using System.ComponentModel.DataAnnotations;
using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Contracts;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// Validates each channel's <see cref="SimulatedChannelOptions"/> (data annotations and its own
/// rules), naming the configuration section in every message, and checks that the channel will have
/// a webhook secret: configured, or generated under <c>Chat4All:DataDirectory</c>.
/// </summary>
internal sealed class SimulatedChannelOptionsValidator(IOptions<Chat4AllOptions> chat4all) : IValidateOptions<SimulatedChannelOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulatedChannelOptions options)
    {
        if (name is null || !Channels.All.Contains(name))
        {
            return ValidateOptionsResult.Skip;
        }

        var section = SimulatedChannelOptions.SectionName(name);
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        var failures = results.Select(r => $"{section}: {r.ErrorMessage}").ToList();
        if (options.WebhookSecret is null && string.IsNullOrWhiteSpace(chat4all.Value.DataDirectory))
        {
            failures.Add(WebhookSecrets.MissingSecretMessage(name));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
