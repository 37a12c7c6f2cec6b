namespace Chat4All.Contracts;

/// <summary>Event-bus topic names: the polyglot contract between services (ARCHITECTURE §2).</summary>
public static class Topics
{
    public const string UserCreated = "user.created";
}
