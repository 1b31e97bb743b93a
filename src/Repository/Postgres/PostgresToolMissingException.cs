namespace BackupDr.Repository.Postgres;

/// <summary>
/// A PostgreSQL program (initdb, pg_ctl, pg_dump...) of a given major version is not installed where we look.
/// The message names the tool, the major version, every folder searched and the package that provides it.
/// </summary>
internal sealed class PostgresToolMissingException : Exception
{
    public PostgresToolMissingException(string tool, int major, IReadOnlyList<string> searched)
        : base(BuildMessage(tool, major, searched))
    {
        Tool = tool;
        Major = major;
        Searched = searched;
    }

    public string Tool { get; }

    public int Major { get; }

    public IReadOnlyList<string> Searched { get; }

    /// <summary>The Debian/Ubuntu package that ships <paramref name="tool"/> for <paramref name="major"/>.</summary>
    public static string PackageFor(string tool, int major) =>
        PostgresInstallation.IsClientTool(tool) ? $"postgresql-client-{major}" : $"postgresql-{major}";

    private static string BuildMessage(string tool, int major, IReadOnlyList<string> searched)
    {
        var where = searched.Count == 0 ? "(no folder)" : string.Join(", ", searched);
        return $"PostgreSQL {major} program '{tool}' was not found (looked in: {where}). "
            + $"Install it with 'apt-get install {PackageFor(tool, major)}' "
            + $"(PGDG repository: https://wiki.postgresql.org/wiki/Apt), "
            + $"or set {PostgresInstallation.OverrideVariable(major)} to the folder that holds it.";
    }
}
