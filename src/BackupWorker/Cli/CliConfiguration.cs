using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Configuration;

namespace BackupDr.BackupWorker.Cli;

/// <summary>
/// Layers the configuration sources of the CLI contract: <c>appsettings.json</c> beside the executable, then
/// <c>--config FILE</c>, then environment variables (<c>BackupDr__Repository__Kind=S3</c>).
/// </summary>
internal static class CliConfiguration
{
    private const string EnvironmentPrefix = BackupDrOptions.SectionName + "__";

    /// <summary>Builds the layered configuration; a missing or malformed file is a usage error.</summary>
    public static IConfiguration Build(string baseDirectory, string? configFile, IReadOnlyDictionary<string, string> environment)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(baseDirectory, "appsettings.json"), optional: true, reloadOnChange: false);

        if (configFile is not null)
        {
            var fullPath = Path.GetFullPath(configFile);
            if (!File.Exists(fullPath))
            {
                throw new UsageException($"--config: file '{configFile}' does not exist.");
            }

            builder.AddJsonFile(fullPath, optional: false, reloadOnChange: false);
        }

        // The same mapping as AddEnvironmentVariables() ("__" is ":"), read from the given variables so
        // that tests do not have to mutate the process environment.
        builder.AddInMemoryCollection(environment
            .Where(v => v.Key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
            .Select(v => KeyValuePair.Create(v.Key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal), (string?)v.Value)));

        try
        {
            return builder.Build();
        }
        catch (InvalidDataException e)
        {
            // A malformed JSON file: the provider names the file, the innermost exception says where.
            var cause = e.GetBaseException().Message;
            throw new UsageException(e.GetBaseException() == e ? e.Message : $"{e.Message.TrimEnd('.')}: {cause}");
        }
        catch (FormatException e)
        {
            throw new UsageException(e.Message);
        }
    }

    /// <summary>The variables of this process, for <see cref="Build"/>.</summary>
    public static IReadOnlyDictionary<string, string> ProcessEnvironment() =>
        System.Environment.GetEnvironmentVariables()
            .Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
}
