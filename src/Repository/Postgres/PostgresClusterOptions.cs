namespace BackupDr.Repository.Postgres;

internal enum PostgresWalLevel
{
    /// <summary>Fastest bulk loads (tables created and filled in one transaction skip the WAL); no replication.</summary>
    Minimal,

    /// <summary>Needed for pg_basebackup or streaming replication from the cluster.</summary>
    Replica,
}

/// <summary>How a throwaway <see cref="PostgresCluster"/> is set up and run.</summary>
internal sealed record PostgresClusterOptions
{
    /// <summary>The TCP port on 127.0.0.1; null picks a free one (and a new one if it is taken at a later start).</summary>
    public int? Port { get; init; }

    /// <summary>The database superuser created by initdb.</summary>
    public string Superuser { get; init; } = "postgres";

    /// <summary>The OS user that owns the data folder and runs the server when this process runs as root.</summary>
    public string OsUser { get; init; } = "postgres";

    public PostgresWalLevel WalLevel { get; init; } = PostgresWalLevel.Minimal;

    public string SharedBuffers { get; init; } = "128MB";

    /// <summary>
    /// Data page checksums (initdb <c>--data-checksums</c>), on by default. With them, the first read of every page after
    /// a bulk load that skipped the WAL (pg_restore into a <see cref="PostgresWalLevel.Minimal"/> cluster) sets hint bits
    /// through a full-page image in the WAL: a drill sandbox, whose probes read the whole copy once, turns them off.
    /// </summary>
    public bool DataChecksums { get; init; } = true;

    /// <summary>Further postgresql.conf settings (name to literal value, quoted as PostgreSQL expects).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// False (the default): <see cref="PostgresCluster.DisposeAsync"/> stops the server and deletes the folder.
    /// True: disposing leaves the server running and the folder in place (the demo survives between runs).
    /// </summary>
    public bool Persistent { get; init; }

    /// <summary>How long a start may take until the server accepts connections.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(90);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Environment changes for initdb, pg_ctl and so the server (which inherits pg_ctl's): a null value removes the
    /// variable. A PITR restore passes what its restore_command needs and removes what the server must not see.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}
