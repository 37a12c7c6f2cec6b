using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Contracts;
using Chat4All.Host.ApiDocs;
using Chat4All.Host.Commands;

// One binary, many targets (docs/architecture.md §1): `Chat4All.Host [--target all|identity,...]` serves;
// `Chat4All.Host migrate` and `Chat4All.Host users ...` run a command and exit.
var command = HostCommand.Parse(args);
if (command is HostCommand.Invalid invalid)
{
    await Console.Error.WriteLineAsync(invalid.Message);
    await Console.Error.WriteLineAsync(HostCommand.Usage);
    return 2;
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = command.HostArgs });
builder.Configuration.AddCommandLine(command.HostArgs, new Dictionary<string, string> { ["--target"] = "Chat4All:Targets" });

builder.AddServiceDefaults(logToStandardError: command is not HostCommand.Serve);
builder.AddHostTls(); // HTTPS/WSS with TLS 1.3 when Chat4All:Tls names a certificate
builder.AddDaprSidecar(); // dapr runtime only: one target per app, sidecar address checked and awaited on start
var chat4all = builder.Configuration.GetSection(Chat4AllOptions.SectionName).Get<Chat4AllOptions>() ?? new Chat4AllOptions();
var targets = Chat4AllOptions.ParseTargets(chat4all.Targets);

if (targets.Contains(Targets.Identity))
{
    builder.AddIdentityService();
}

if (targets.Contains(Targets.Messaging))
{
    builder.AddMessagingService();
}

if (targets.Contains(Targets.Delivery))
{
    builder.AddDeliveryService();
}

if (targets.Contains(Targets.Realtime))
{
    builder.AddRealtimeService();
}

if (targets.Contains(Targets.Files))
{
    builder.AddFilesService();
}

var app = builder.Build();

app.UseServiceDefaults();
app.MapDefaultEndpoints();
if (targets.Contains(Targets.Identity))
{
    app.MapIdentityService();
}

if (targets.Contains(Targets.Messaging))
{
    app.MapMessagingService();
}

if (targets.Contains(Targets.Delivery))
{
    app.MapDeliveryService();
}

if (targets.Contains(Targets.Realtime))
{
    app.MapRealtimeService();
}

if (targets.Contains(Targets.Files))
{
    app.MapFilesService();
}

// Static files of the web console: any target serves them, they call the API like any client.
app.MapWebConsole();
app.MapApiDocs(); // the landing page at /, the API reference at /docs, the AsyncAPI document
app.MapDaprSidecar(); // dapr runtime only: /dapr/subscribe answers the sidecar in every app

return await command.RunAsync(app);

/// <summary>Visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
