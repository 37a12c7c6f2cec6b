namespace Chat4All.Contracts;

/// <summary>OAuth scopes a Chat4All access token can carry (docs/api.md §1.3).</summary>
public static class ChatScopes
{
    public const string Messages = "messages";
    public const string Files = "files";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Messages, Files, Admin];
}
