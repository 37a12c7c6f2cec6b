using Chat4All.BuildingBlocks.Hosting;

namespace Chat4All.BuildingBlocks.Outbox;

/// <summary>Wakes this process's relay as soon as a transaction with outbox rows commits.</summary>
public sealed class OutboxSignal : WakeSignal;
