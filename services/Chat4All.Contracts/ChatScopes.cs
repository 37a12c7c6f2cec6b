namespace Chat4All.Contracts;

/// <summary>OAuth scopes a Chat4All access token can carry (API.md "Auth").</summary>
public static class ChatScopes
{
    public const string Messages = "messages";
    public const string Files = "files";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Messages, Files, Admin];
}
