namespace Chat4All.Contracts;

/// <summary>Claim names in Chat4All access tokens beyond the registered JWT ones.</summary>
public static class ChatClaims
{
    public const string Subject = "sub";
    public const string TenantId = "tenant_id";
    public const string Scope = "scope";
}
