using Chat4All.Cli;

// Ctrl-C once: stop gracefully (an upload keeps what it stored and says how to resume); twice: exit now.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (interrupt.IsCancellationRequested)
    {
        return; // second press: let the runtime end the process
    }

    e.Cancel = true;
    interrupt.Cancel();
};

return await CliApp.RunAsync(args, CliContext.FromProcess(), interrupt.Token);
