namespace BackupDr.Repository.Postgres;

/// <summary>SQL identifiers in statements that take no parameters (CREATE DATABASE, ALTER ... OWNER, to_regclass text).</summary>
internal static class SqlIdentifier
{
    /// <summary><paramref name="name"/> as a quoted identifier: in double quotes, a double quote in it doubled.</summary>
    public static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
