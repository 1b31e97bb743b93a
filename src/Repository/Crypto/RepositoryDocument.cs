namespace BackupDr.Repository.Crypto;

/// <summary>
/// repository.json, the repository's root document: its format and version, its identity, and the key slots that
/// each hold the master key wrapped under one passphrase. It holds no secret: neither the master key in clear nor
/// the passphrase. Serialized by <see cref="RepositoryDocumentSerializer"/> (camelCase JSON).
/// </summary>
/// <param name="Format">Always <see cref="FormatName"/>.</param>
/// <param name="FormatVersion">Always <see cref="CurrentFormatVersion"/> for documents this build writes.</param>
/// <param name="RepositoryId">Random at creation; bound into every key slot.</param>
/// <param name="CreatedAt">When the repository was created (UTC).</param>
/// <param name="MasterKeyId">The fingerprint of the master key every slot wraps (<see cref="MasterKey.KeyId"/>).</param>
/// <param name="Keys">One or more key slots; any one of them opens the repository.</param>
internal sealed record RepositoryDocument(
    string Format,
    int FormatVersion,
    Guid RepositoryId,
    DateTimeOffset CreatedAt,
    string MasterKeyId,
    IReadOnlyList<KeySlot> Keys)
{
    public const string FormatName = "backupdr-repository";

    public const int CurrentFormatVersion = 1;
}

/// <summary>
/// The master key wrapped under a key derived from one passphrase.
/// </summary>
/// <param name="KeyId">16 random lower-case hex characters, new for every slot.</param>
/// <param name="Kdf">How the wrapping key is derived from the passphrase.</param>
/// <param name="WrappedMasterKey">
/// Base64 of nonce (12 bytes) || AES-256-GCM ciphertext of the master key (32 bytes) || tag (16 bytes); the
/// associated data binds the format, the repository id, the slot's key id and its KDF parameters.
/// </param>
/// <param name="CreatedAt">When the slot was made (UTC).</param>
internal sealed record KeySlot(string KeyId, KdfParameters Kdf, string WrappedMasterKey, DateTimeOffset CreatedAt);

/// <summary>Passphrase-based key derivation parameters of one slot.</summary>
/// <param name="Algorithm">Always <see cref="Pbkdf2Sha256"/>.</param>
/// <param name="Iterations">At least <see cref="MinimumIterations"/>.</param>
/// <param name="Salt">Base64 of 32 random bytes, new for every slot.</param>
internal sealed record KdfParameters(string Algorithm, int Iterations, string Salt)
{
    public const string Pbkdf2Sha256 = "PBKDF2-SHA256";

    /// <summary>OWASP's 2023 floor for PBKDF2-HMAC-SHA256, and the requirement.</summary>
    public const int MinimumIterations = 600_000;

    public const int DefaultIterations = MinimumIterations;

    /// <summary>A ceiling so that a doctored document cannot make unlocking run for hours.</summary>
    public const int MaximumIterations = 50_000_000;

    public const int SaltLength = 32;
}
