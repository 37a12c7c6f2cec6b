// The platform, its scripts and these tests run on Linux (file modes are part of what is checked).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
