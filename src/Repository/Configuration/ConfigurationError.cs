namespace BackupDr.Repository.Configuration;

/// <summary>One bad setting: its configuration key (e.g. <c>BackupDr:Targets:0:Tier</c>) and why it is bad.
/// The message never contains the value of a secret.</summary>
public sealed record ConfigurationError(string Key, string Message)
{
    public override string ToString() => $"{Key}: {Message}";
}

/// <summary>The configuration cannot be used. <see cref="Exception.Message"/> names every bad field.</summary>
public sealed class InvalidConfigurationException : Exception
{
    public InvalidConfigurationException(IReadOnlyList<ConfigurationError> errors)
        : base(Describe(errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<ConfigurationError> Errors { get; }

    public static string Describe(IReadOnlyList<ConfigurationError> errors)
    {
        var noun = errors.Count == 1 ? "problem" : "problems";
        var lines = errors.Select(e => "  " + e);
        return $"The configuration is invalid ({errors.Count} {noun}):{System.Environment.NewLine}"
            + string.Join(System.Environment.NewLine, lines);
    }
}
