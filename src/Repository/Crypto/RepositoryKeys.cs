using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BackupDr.Repository.Integrity;

namespace BackupDr.Repository.Crypto;

/// <summary>
/// The key hierarchy: passphrase -> (PBKDF2-SHA256) key-encryption key -> (AES-256-GCM) master key ->
/// (AES-256-GCM) one data key per backup -> (HKDF-SHA256) one key per object. Changing the passphrase rewraps only
/// the master key, so no backup is rewritten.
/// </summary>
internal static class RepositoryKeys
{
    /// <summary>The prefix of a wrapped data key token: "dk1.&lt;masterKeyId&gt;.&lt;base64url&gt;".</summary>
    public const string DataKeyTokenPrefix = "dk1";

    private const int NonceLength = 12;
    private const int TagLength = 16;

    /// <summary>
    /// Makes a new repository: a fresh repository id and master key, wrapped in one key slot under
    /// <paramref name="passphrase"/>. The caller stores the document and disposes the master key.
    /// </summary>
    /// <exception cref="WeakPassphraseException">The passphrase breaks <see cref="PassphrasePolicy"/>.</exception>
    public static (RepositoryDocument Document, MasterKey MasterKey) Create(
        string passphrase, TimeProvider timeProvider, int kdfIterations = KdfParameters.DefaultIterations)
    {
        PassphrasePolicy.EnsureStrong(passphrase, nameof(passphrase));
        ArgumentNullException.ThrowIfNull(timeProvider);
        CheckIterations(kdfIterations);

        var repositoryId = Guid.NewGuid();
        var masterKey = MasterKey.CreateRandom();
        try
        {
            var slot = NewSlot(repositoryId, masterKey, passphrase, kdfIterations, timeProvider);
            var document = new RepositoryDocument(
                RepositoryDocument.FormatName,
                RepositoryDocument.CurrentFormatVersion,
                repositoryId,
                timeProvider.GetUtcNow(),
                masterKey.KeyId,
                [slot]);
            RepositoryDocumentRules.EnsureValid(document);
            return (document, masterKey);
        }
        catch
        {
            masterKey.Dispose();
            throw;
        }
    }

    /// <summary>Opens the repository: tries each key slot with <paramref name="passphrase"/>.</summary>
    /// <exception cref="WrongPassphraseException">No slot opens with this passphrase.</exception>
    /// <exception cref="RepositoryFormatException">The document breaks the format's rules.</exception>
    public static MasterKey Unlock(RepositoryDocument document, string passphrase) =>
        UnlockSlot(document, passphrase).MasterKey;

    /// <summary>
    /// Returns a new document in which the slot opened by <paramref name="oldPassphrase"/> is replaced by a new slot
    /// (new key id, new salt) wrapping the same master key under <paramref name="newPassphrase"/>. Other slots stay.
    /// Existing backups stay readable: their data keys are wrapped by the master key, which does not change.
    /// </summary>
    /// <exception cref="WeakPassphraseException">The new passphrase breaks <see cref="PassphrasePolicy"/>.</exception>
    /// <exception cref="WrongPassphraseException">The old passphrase opens no slot.</exception>
    public static RepositoryDocument ChangePassphrase(
        RepositoryDocument document,
        string oldPassphrase,
        string newPassphrase,
        TimeProvider timeProvider,
        int kdfIterations = KdfParameters.DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(document);
        PassphrasePolicy.EnsureStrong(newPassphrase, nameof(newPassphrase));
        ArgumentNullException.ThrowIfNull(timeProvider);
        CheckIterations(kdfIterations);

        var (masterKey, openedSlot) = UnlockSlot(document, oldPassphrase);
        using (masterKey)
        {
            var newSlot = NewSlot(document.RepositoryId, masterKey, newPassphrase, kdfIterations, timeProvider);
            var keys = new List<KeySlot>(document.Keys.Count);
            foreach (var slot in document.Keys)
            {
                if (!ReferenceEquals(slot, openedSlot))
                {
                    keys.Add(slot);
                }
            }

            keys.Add(newSlot);
            var changed = document with { Keys = keys };
            RepositoryDocumentRules.EnsureValid(changed);
            return changed;
        }
    }

    /// <summary>
    /// Wraps a backup's data key under the master key. <paramref name="context"/> names what the key is for
    /// (e.g. "backup:acme-prod/20260101T020000Z-3f2a") and must be given again to unwrap it, so a token copied into
    /// another backup's manifest does not open. The token is "dk1.&lt;masterKeyId&gt;.&lt;base64url(nonce || ciphertext ||
    /// tag)&gt;", 101 ASCII characters, safe to store in a manifest.
    /// </summary>
    public static string WrapDataKey(MasterKey masterKey, DataKey dataKey, string context)
    {
        ArgumentNullException.ThrowIfNull(masterKey);
        ArgumentNullException.ThrowIfNull(dataKey);
        ArgumentException.ThrowIfNullOrEmpty(context);

        Span<byte> wrapped = stackalloc byte[NonceLength + KeyMaterial.Length + TagLength];
        var nonce = wrapped[..NonceLength];
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(masterKey.AsSpan(), TagLength))
        {
            aes.Encrypt(
                nonce,
                dataKey.AsSpan(),
                wrapped.Slice(NonceLength, KeyMaterial.Length),
                wrapped[(NonceLength + KeyMaterial.Length)..],
                DataKeyAssociatedData(masterKey.KeyId, context));
        }

        return $"{DataKeyTokenPrefix}.{masterKey.KeyId}.{Base64Url.EncodeToString(wrapped)}";
    }

    /// <summary>
    /// Opens a token made by <see cref="WrapDataKey"/> with the same master key and context. <c>objectName</c> names
    /// the thing in error messages (the manifest's key); it defaults to the context.
    /// </summary>
    /// <exception cref="CorruptObjectException">
    /// The token is malformed, was wrapped by another master key, was altered, or belongs to another context.
    /// </exception>
    public static DataKey UnwrapDataKey(MasterKey masterKey, string token, string context, string? objectName = null)
    {
        ArgumentNullException.ThrowIfNull(masterKey);
        ArgumentNullException.ThrowIfNull(token);
        ArgumentException.ThrowIfNullOrEmpty(context);
        var name = objectName ?? context;

        var parts = token.Split('.');
        Span<byte> wrapped = stackalloc byte[NonceLength + KeyMaterial.Length + TagLength];
        if (parts.Length != 3 || parts[0] != DataKeyTokenPrefix
            || parts[1].Length != RepositoryDocumentRules.KeyIdLength
            // TryDecodeFromChars throws on characters outside the alphabet; IsValid checks them first.
            || !Base64Url.IsValid(parts[2], out var decodedLength) || decodedLength != wrapped.Length
            || !Base64Url.TryDecodeFromChars(parts[2], wrapped, out var written) || written != wrapped.Length)
        {
            throw new CorruptObjectException(name, "its wrapped data key is not a valid dk1 token");
        }

        if (parts[1] != masterKey.KeyId)
        {
            throw new CorruptObjectException(
                name, $"its data key was wrapped by master key {parts[1]}, but this repository's master key is {masterKey.KeyId}");
        }

        Span<byte> plain = stackalloc byte[KeyMaterial.Length];
        try
        {
            using var aes = new AesGcm(masterKey.AsSpan(), TagLength);
            aes.Decrypt(
                wrapped[..NonceLength],
                wrapped.Slice(NonceLength, KeyMaterial.Length),
                wrapped[(NonceLength + KeyMaterial.Length)..],
                plain,
                DataKeyAssociatedData(masterKey.KeyId, context));
            return DataKey.FromBytes(plain);
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new CorruptObjectException(
                name, "its wrapped data key failed authentication (altered, or wrapped for another backup)", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private static (MasterKey MasterKey, KeySlot Slot) UnlockSlot(RepositoryDocument document, string passphrase)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(passphrase);
        RepositoryDocumentRules.EnsureValid(document);

        var tried = new List<string>(document.Keys.Count);
        Span<byte> kek = stackalloc byte[KeyMaterial.Length];
        Span<byte> plain = stackalloc byte[KeyMaterial.Length];
        Span<byte> salt = stackalloc byte[KdfParameters.SaltLength];
        Span<byte> wrapped = stackalloc byte[RepositoryDocumentRules.WrappedMasterKeyLength];
        try
        {
            foreach (var slot in document.Keys)
            {
                tried.Add(slot.KeyId);
                Convert.TryFromBase64String(slot.Kdf.Salt, salt, out _);
                Convert.TryFromBase64String(slot.WrappedMasterKey, wrapped, out _);
                Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, kek, slot.Kdf.Iterations, HashAlgorithmName.SHA256);
                using var aes = new AesGcm(kek, TagLength);
                try
                {
                    aes.Decrypt(
                        wrapped[..NonceLength],
                        wrapped.Slice(NonceLength, KeyMaterial.Length),
                        wrapped[(NonceLength + KeyMaterial.Length)..],
                        plain,
                        SlotAssociatedData(document.RepositoryId, slot));
                }
                catch (AuthenticationTagMismatchException)
                {
                    // Wrong passphrase for this slot (or an altered slot): try the next one.
                    continue;
                }

                var masterKey = MasterKey.FromBytes(plain);
                if (masterKey.KeyId != document.MasterKeyId)
                {
                    masterKey.Dispose();
                    throw new RepositoryFormatException(
                        $"repository.json is malformed: key slot {slot.KeyId} holds master key {masterKey.KeyId}, "
                        + $"but the document names master key {document.MasterKeyId}");
                }

                return (masterKey, slot);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
            CryptographicOperations.ZeroMemory(plain);
        }

        throw new WrongPassphraseException(tried);
    }

    private static KeySlot NewSlot(
        Guid repositoryId, MasterKey masterKey, string passphrase, int iterations, TimeProvider timeProvider)
    {
        Span<byte> salt = stackalloc byte[KdfParameters.SaltLength];
        RandomNumberGenerator.Fill(salt);
        var keyId = RandomNumberGenerator.GetHexString(RepositoryDocumentRules.KeyIdLength, lowercase: true);
        var kdf = new KdfParameters(KdfParameters.Pbkdf2Sha256, iterations, Convert.ToBase64String(salt));

        Span<byte> kek = stackalloc byte[KeyMaterial.Length];
        Span<byte> wrapped = stackalloc byte[RepositoryDocumentRules.WrappedMasterKeyLength];
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, kek, iterations, HashAlgorithmName.SHA256);
            var nonce = wrapped[..NonceLength];
            RandomNumberGenerator.Fill(nonce);
            // The slot is built before its ciphertext is known; the associated data uses only its other fields.
            var slot = new KeySlot(keyId, kdf, string.Empty, timeProvider.GetUtcNow());
            using (var aes = new AesGcm(kek, TagLength))
            {
                aes.Encrypt(
                    nonce,
                    masterKey.AsSpan(),
                    wrapped.Slice(NonceLength, KeyMaterial.Length),
                    wrapped[(NonceLength + KeyMaterial.Length)..],
                    SlotAssociatedData(repositoryId, slot));
            }

            return slot with { WrappedMasterKey = Convert.ToBase64String(wrapped) };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>
    /// Binds a slot's ciphertext to the format, the repository and the slot's own parameters, so a slot copied into
    /// another repository, or with its KDF parameters edited, does not open.
    /// </summary>
    private static byte[] SlotAssociatedData(Guid repositoryId, KeySlot slot) =>
        Encoding.UTF8.GetBytes(string.Join(
            '\n',
            RepositoryDocument.FormatName,
            RepositoryDocument.CurrentFormatVersion.ToString(CultureInfo.InvariantCulture),
            repositoryId.ToString("D"),
            slot.KeyId,
            slot.Kdf.Algorithm,
            slot.Kdf.Iterations.ToString(CultureInfo.InvariantCulture),
            slot.Kdf.Salt));

    private static byte[] DataKeyAssociatedData(string masterKeyId, string context) =>
        Encoding.UTF8.GetBytes($"backupdr/data-key/v1\n{masterKeyId}\n{context}");

    private static void CheckIterations(int iterations)
    {
        if (iterations is < KdfParameters.MinimumIterations or > KdfParameters.MaximumIterations)
        {
            throw new ArgumentOutOfRangeException(
                nameof(iterations),
                $"PBKDF2 iterations must be between {KdfParameters.MinimumIterations} and {KdfParameters.MaximumIterations}");
        }
    }
}
