namespace BackupDr.Repository.Postgres;

internal sealed partial class PostgresCluster
{
    /// <summary>
    /// Makes a cluster from a data folder that <paramref name="populate"/> writes (a base backup being extracted)
    /// instead of initdb. Files the source kept outside its data folder are written when missing (Debian keeps
    /// <c>postgresql.conf</c> and <c>pg_hba.conf</c> in /etc); the source's <c>postgresql.auto.conf</c> (ALTER SYSTEM,
    /// read after every other file) is set aside so that it cannot override this cluster's port, archive_mode or
    /// restore settings. Local connections are trusted, as in every throwaway cluster. Does not start it.
    /// </summary>
    /// <param name="populate">Fills the data folder (first argument) and may add files to the data root (second).</param>
    public static async Task<PostgresCluster> AdoptAsync(
        int major, string dataRoot, PostgresClusterOptions options, Func<string, string, CancellationToken, Task> populate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(populate);
        var installation = PostgresInstallation.Locate(major);
        installation.RequireTools("pg_ctl", "postgres");
        dataRoot = Path.GetFullPath(dataRoot);
        if (Directory.Exists(dataRoot) && Directory.EnumerateFileSystemEntries(dataRoot).Any())
        {
            throw new InvalidOperationException($"Cannot create a PostgreSQL cluster in {dataRoot}: the folder is not empty.");
        }

        var socketDirectory = ChooseSocketDirectory(dataRoot);
        Directory.CreateDirectory(socketDirectory);
        var state = new ClusterState(major, options.Port ?? FreePort(), socketDirectory, options.Superuser, ChildProcess.IsRoot ? options.OsUser : null);
        var cluster = new PostgresCluster(installation, dataRoot, state, options);
        var data = Directory.CreateDirectory(cluster.DataDirectory);
        if (!OperatingSystem.IsWindows())
        {
            data.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        }

        await populate(cluster.DataDirectory, dataRoot, cancellationToken);
        var conf = Path.Combine(cluster.DataDirectory, "postgresql.conf");
        if (!File.Exists(conf))
        {
            await File.WriteAllTextAsync(conf, "# Written by BackupDr: the source kept its postgresql.conf outside the data folder.\n", cancellationToken);
        }

        await File.WriteAllTextAsync(Path.Combine(cluster.DataDirectory, "pg_hba.conf"),
            $"# Written by BackupDr: a restored throwaway cluster trusts local connections only.\nlocal all {options.Superuser} trust\nhost all {options.Superuser} 127.0.0.1/32 trust\nlocal all all trust\nhost all all 127.0.0.1/32 trust\n",
            cancellationToken);
        var ident = Path.Combine(cluster.DataDirectory, "pg_ident.conf");
        if (!File.Exists(ident))
        {
            await File.WriteAllTextAsync(ident, "", cancellationToken);
        }

        var auto = Path.Combine(cluster.DataDirectory, "postgresql.auto.conf");
        if (File.Exists(auto))
        {
            File.Move(auto, Path.Combine(cluster.DataDirectory, "postgresql.auto.conf.source"), overwrite: true);
        }

        await File.AppendAllTextAsync(conf, $"\n# BackupDr restored cluster settings\ninclude '{ConfigFileName}'\n", cancellationToken);
        await cluster.WriteConfigAsync(cancellationToken);
        await cluster.ChownAsync(cancellationToken, dataRoot, socketDirectory);
        await cluster.WriteStateAsync(cancellationToken);
        return cluster;
    }
}
