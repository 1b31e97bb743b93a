using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using BackupDr.OdooDemo;
using BackupDr.Repository.Postgres;

// odoo-demo: a deterministic Odoo-17-like database and filestore. Exit codes: 0 ok, 1 failure, 2 bad arguments.
var json = new Option<bool>("--json") { Description = "Print one JSON document on stdout instead of text." };
var scaleOption = new Option<int>("--scale")
{
    Description = "Number of journal entries (account_move rows); see DemoDatabase for what a scale produces.",
    Required = true,
};
scaleOption.Validators.Add(r =>
{
    if (r.GetValueOrDefault<int>() < DemoDatabase.MinimumScale)
    {
        r.AddError($"--scale must be at least {DemoDatabase.MinimumScale}.");
    }
});
var seedOption = new Option<long>("--seed") { Description = "Seed of every generated value.", DefaultValueFactory = _ => DemoDatabase.DefaultSeed };
var connectionOption = new Option<string>("--connection") { Description = "Npgsql connection string of an existing, empty database.", Required = true };
var filestoreOption = new Option<string>("--filestore") { Description = "Folder that receives the filestore (<sha1[0:2]>/<sha1>).", Required = true };
var forceOption = new Option<bool>("--force") { Description = "Replace the generator's tables and empty the filestore folder." };
var dataDirOption = new Option<string>("--data-dir") { Description = "Folder of the demo environment (cluster, filestore).", Required = true };
var purgeOption = new Option<bool>("--purge") { Description = "Also delete the cluster, the filestore and the folder." };

var generate = new Command("generate", "Create and fill the Odoo tables in an existing empty database, and write its filestore.")
{
    connectionOption, filestoreOption, scaleOption, seedOption, forceOption, json,
};
generate.SetAction(async (parse, ct) =>
{
    var summary = await DemoDatabase.GenerateAsync(
        parse.GetValue(connectionOption)!, parse.GetValue(filestoreOption)!, parse.GetValue(scaleOption), parse.GetValue(seedOption), ct,
        parse.GetValue(forceOption));
    Print(parse.GetValue(json), summary, Describe(summary));
    return 0;
});

var up = new Command("up", $"Open or create a PostgreSQL {DemoEnvironment.PostgresMajor} cluster in --data-dir, generate database "
    + $"'{DemoEnvironment.DatabaseName}' once, and leave the server running.")
{
    dataDirOption, scaleOption, seedOption, json,
};
up.SetAction(async (parse, ct) =>
{
    var info = await DemoEnvironment.UpAsync(parse.GetValue(dataDirOption)!, parse.GetValue(scaleOption), parse.GetValue(seedOption), ct);
    var text = string.Create(CultureInfo.InvariantCulture,
        $"""
        {(info.Reused ? "reused" : "created")}: {info.DataDir}
        connection: {info.ConnectionString}
        psql:       psql -h {info.Host} -p {info.Port} -U postgres {info.Database}
        filestore:  {info.Filestore}
        {Describe(info.Summary)}
        stop:       odoo-demo down --data-dir {info.DataDir}
        """);
    Print(parse.GetValue(json), info, text);
    return 0;
});

var down = new Command("down", "Stop the demo server (and with --purge delete everything).") { dataDirOption, purgeOption, json };
down.SetAction(async (parse, ct) =>
{
    var dataDir = parse.GetValue(dataDirOption)!;
    var found = await DemoEnvironment.DownAsync(dataDir, parse.GetValue(purgeOption), ct);
    var result = new { dataDir = Path.GetFullPath(dataDir), found, purged = parse.GetValue(purgeOption) };
    Print(parse.GetValue(json), result, found ? (result.purged ? "stopped and purged " : "stopped ") + result.dataDir : "no demo cluster in " + result.dataDir);
    return 0;
});

var root = new RootCommand("Deterministic Odoo-17-like demo database and filestore for BackupDr.") { generate, up, down };
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"odoo-demo: {error.Message}");
    }

    Console.Error.WriteLine("Run 'odoo-demo --help' for usage.");
    return 2;
}

try
{
    // Our own handler below maps failures to exit code 1 with a one-line message instead of a stack trace.
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("odoo-demo: cancelled");
    return 1;
}
catch (Exception ex) when (ex is PostgresToolMissingException or DemoDatabaseNotEmptyException or ChildProcessException
                               or InvalidOperationException or Npgsql.NpgsqlException or IOException or TimeoutException)
{
    Console.Error.WriteLine($"odoo-demo: {ex.Message}");
    return 1;
}

static string Describe(DemoSummary s) => string.Create(CultureInfo.InvariantCulture,
    $"""
    database:   {s.DatabaseBytes / 1048576.0:F1} MiB (scale {s.Scale}, seed {s.Seed}, generated in {s.Elapsed.TotalSeconds:F1} s)
    filestore:  {s.FilestoreFiles} files, {s.FilestoreBytes / 1048576.0:F1} MiB
    rows:       {string.Join(", ", s.RowCounts.Select(kv => $"{kv.Key} {kv.Value}"))}
    """);

static void Print<T>(bool asJson, T value, string text)
{
    Console.Out.WriteLine(asJson ? JsonSerializer.Serialize(value, JsonOutput.Options) : text);
}

/// <summary>Shared JSON settings for --json output.</summary>
internal static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
