using System.ComponentModel.DataAnnotations;

namespace Chat4All.ServiceDefaults.Auth;

/// <summary>Who issues the tokens this process accepts. Bound from <c>Chat4All:Auth</c>.</summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Auth";

    /// <summary>
    /// The <c>iss</c> of every token. Fixed by configuration rather than taken from the request so
    /// that all instances behind a load balancer, and tokens issued before a restart, agree.
    /// </summary>
    [Required]
    public Uri Issuer { get; set; } = new("http://127.0.0.1:8080/");

    /// <summary>The <c>aud</c> every access token carries and every API requires.</summary>
    [Required]
    public string Audience { get; set; } = "chat4all";

    /// <summary>
    /// Where to fetch discovery and JWKS when the identity target is not in this process
    /// (defaults to <see cref="Issuer"/>).
    /// </summary>
    public Uri? Authority { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Issuer.IsAbsoluteUri || Issuer.Scheme is not ("http" or "https"))
        {
            yield return new ValidationResult($"{SectionName}:Issuer must be an absolute http(s) URI.", [nameof(Issuer)]);
        }
    }
}
