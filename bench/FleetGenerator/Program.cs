using System.Globalization;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Storage;
using BackupDr.TestSupport;

// backupdr-fleet-gen REPOSITORY_DIR PASSPHRASE_FILE TARGETS YYYY-MM DRILL_MONTHS CONFIG_OUT
if (args.Length != 6)
{
    await Console.Error.WriteLineAsync("usage: backupdr-fleet-gen REPOSITORY_DIR PASSPHRASE_FILE TARGETS YYYY-MM DRILL_MONTHS CONFIG_OUT");
    return 2;
}

var (directory, passphraseFile, targets, month, drillMonths, configOut) = (
    Path.GetFullPath(args[0]), args[1], int.Parse(args[2], CultureInfo.InvariantCulture),
    DateOnly.ParseExact(args[3] + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture), args[5]);
var passphrase = (await File.ReadAllTextAsync(passphraseFile)).TrimEnd('\n', '\r');
var store = new LocalObjectStore(directory);
await BackupRepository.InitializeAsync(store, passphrase, TimeProvider.System, CancellationToken.None);
using var repository = await BackupRepository.OpenAsync(store, passphrase, CancellationToken.None);
var started = TimeProvider.System.GetTimestamp();
var fleet = await SyntheticFleet.WriteAsync(store, repository.MasterKey, targets, month, drillMonths, CancellationToken.None);
var repositoryJson = $$"""{ "Kind": "Local", "Path": "{{directory}}", "PassphraseFile": "{{Path.GetFullPath(passphraseFile)}}" }""";
await File.WriteAllTextAsync(configOut, SyntheticFleet.Configuration(fleet, repositoryJson, Path.Combine(Path.GetTempPath(), "backupdr-fleet-sandboxes")));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{targets} targets written to {directory} in {TimeProvider.System.GetElapsedTime(started).TotalSeconds:0.0} s"));
return 0;
