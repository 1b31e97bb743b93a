using System.Globalization;

namespace BackupDr.Repository.Crypto;

/// <summary>The rules a repository document must meet, checked on read and on write; every broken rule is reported.</summary>
internal static class RepositoryDocumentRules
{
    public const int KeyIdLength = 16;

    /// <summary>Nonce (12) + master key (32) + tag (16).</summary>
    public const int WrappedMasterKeyLength = 12 + KeyMaterial.Length + 16;

    public static void EnsureValid(RepositoryDocument document)
    {
        var problems = new List<string>();
        if (document.Format != RepositoryDocument.FormatName)
        {
            problems.Add($"format must be \"{RepositoryDocument.FormatName}\"");
        }

        if (document.FormatVersion != RepositoryDocument.CurrentFormatVersion)
        {
            problems.Add($"formatVersion must be {RepositoryDocument.CurrentFormatVersion}");
        }

        if (document.RepositoryId == Guid.Empty)
        {
            problems.Add("repositoryId must not be empty");
        }

        if (!IsLowerHex(document.MasterKeyId, KeyIdLength))
        {
            problems.Add($"masterKeyId must be {KeyIdLength} lower-case hexadecimal characters");
        }

        if (document.Keys is null || document.Keys.Count == 0)
        {
            problems.Add("keys must hold at least one key slot");
        }
        else
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < document.Keys.Count; i++)
            {
                CheckSlot(document.Keys[i], $"keys[{i.ToString(CultureInfo.InvariantCulture)}]", seen, problems);
            }
        }

        if (problems.Count > 0)
        {
            throw new RepositoryFormatException($"repository.json is malformed: {string.Join("; ", problems)}");
        }
    }

    private static void CheckSlot(KeySlot? slot, string where, HashSet<string> seen, List<string> problems)
    {
        if (slot is null)
        {
            problems.Add($"{where} is null");
            return;
        }

        if (!IsLowerHex(slot.KeyId, KeyIdLength))
        {
            problems.Add($"{where}.keyId must be {KeyIdLength} lower-case hexadecimal characters");
        }
        else if (!seen.Add(slot.KeyId))
        {
            problems.Add($"{where}.keyId {slot.KeyId} appears twice");
        }

        if (slot.Kdf is null)
        {
            problems.Add($"{where}.kdf is missing");
        }
        else
        {
            if (slot.Kdf.Algorithm != KdfParameters.Pbkdf2Sha256)
            {
                problems.Add($"{where}.kdf.algorithm must be \"{KdfParameters.Pbkdf2Sha256}\"");
            }

            if (slot.Kdf.Iterations is < KdfParameters.MinimumIterations or > KdfParameters.MaximumIterations)
            {
                problems.Add(
                    $"{where}.kdf.iterations must be between {KdfParameters.MinimumIterations} and {KdfParameters.MaximumIterations}");
            }

            if (DecodedLength(slot.Kdf.Salt) != KdfParameters.SaltLength)
            {
                problems.Add($"{where}.kdf.salt must be {KdfParameters.SaltLength} bytes in base64");
            }
        }

        if (DecodedLength(slot.WrappedMasterKey) != WrappedMasterKeyLength)
        {
            problems.Add($"{where}.wrappedMasterKey must be {WrappedMasterKeyLength} bytes in base64");
        }
    }

    private static int DecodedLength(string? base64)
    {
        if (base64 is null)
        {
            return -1;
        }

        Span<byte> buffer = stackalloc byte[64];
        return Convert.TryFromBase64String(base64, buffer, out var written) ? written : -1;
    }

    private static bool IsLowerHex(string? value, int length)
    {
        if (value is null || value.Length != length)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
