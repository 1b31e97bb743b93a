using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace BackupDr.Repository.Storage;

/// <summary>
/// Objects as files under a root folder: key <c>a/b/c</c> is the file <c>root/a/b/c</c>. Nothing else is written
/// beside an object. A Put writes a hidden temporary file in the target folder (<c>.~put-*.tmp</c>: '~' is outside
/// the key alphabet, so it never collides with a key and listings skip it), flushes it to disk, then renames it into
/// place atomically; on failure or cancellation the temporary file is deleted. IfNotExists links the temporary file
/// under the object's name with link(2), which fails atomically when the name exists (.NET's
/// <c>File.Move(overwrite: false)</c> checks and then renames, so two racing writers could both succeed); on Windows
/// it moves without replacing, which is atomic there.
/// </summary>
/// <remarks>
/// Limits: a key cannot be both an object and a folder of other objects (<c>a</c> and <c>a/b</c>), which S3 allows;
/// the layout never does that. Folders left empty by deletes stay (listings ignore them). The folder's own entry is
/// not fsynced after the rename (.NET has no API for it), so a power cut right after a Put may lose that object;
/// the manifest-last rule makes such a backup simply absent, never half-present.
/// </remarks>
internal sealed class LocalObjectStore : IObjectStore
{
    private const string TempPrefix = ".~put-";
    private const int CopyBufferBytes = 1024 * 1024;

    private readonly string _root;

    public LocalObjectStore(string rootPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootPath);
        _root = Path.GetFullPath(rootPath);
    }

    public StoreCapabilities Capabilities { get; } = new(ConditionalCreate: true, MaxObjectSizeBytes: long.MaxValue);

    public string Location => _root;

    public async Task<PutResult> PutAsync(ObjectKey key, Stream source, PutOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var path = PathOf(key);
        var folder = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(folder, $"{TempPrefix}{Guid.NewGuid():N}.tmp");
        try
        {
            FileSystem(key, () => Directory.CreateDirectory(folder));
            if (options.IfNotExists && File.Exists(path))
            {
                throw new ObjectAlreadyExistsException(Location, key);
            }

            var result = await WriteTempAsync(key, source, temp, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            FileSystem(key, () => Move(key, temp, path, options.IfNotExists));
            return result;
        }
        finally
        {
            DeleteTemp(temp);
        }
    }

    public Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            // FileShare.Delete: a concurrent replace or delete does not disturb a reader (it keeps the old inode).
            Stream stream = new FileStream(
                PathOf(key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.SequentialScan);
            return Task.FromResult(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ObjectNotFoundException(Location, key, e);
        }
        catch (Exception e) when (Translate(e, key) is { } storage)
        {
            throw storage;
        }
    }

    public Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var file = new FileInfo(PathOf(key));
            return Task.FromResult(file.Exists ? Info(key, file) : null);
        }
        catch (Exception e) when (Translate(e, key) is { } storage)
        {
            throw storage;
        }
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectKey.ValidatePrefix(prefix);
        var lastSlash = prefix.LastIndexOf('/');
        var startFolder = lastSlash < 0 ? "" : prefix[..lastSlash];
        await foreach (var info in ListFolderAsync(startFolder, prefix, cancellationToken))
        {
            yield return info;
        }
    }

    public Task DeleteAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);

        // Idempotent: a missing file (or folder) is already the outcome asked for.
        if (Directory.Exists(Path.GetDirectoryName(path)))
        {
            FileSystem(key, () => File.Delete(path));
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Deletes the temporary files of Puts that never finished (the process was killed before it could delete them)
    /// under the folder of <paramref name="prefix"/>, when they were last written before <paramref name="writtenBefore"/>:
    /// a Put in progress writes its file continuously, so an old one belongs to no running Put. The object stores' own
    /// equivalents are an S3 lifecycle rule that aborts incomplete multipart uploads, and Azure's garbage collection of
    /// uncommitted blocks after seven days.
    /// </summary>
    /// <returns>How many files were deleted and their bytes.</returns>
    public (int Files, long Bytes) DeleteAbandonedTemporaryFiles(string prefix, DateTimeOffset writtenBefore)
    {
        ObjectKey.ValidatePrefix(prefix);
        var folder = Path.Combine(_root, prefix.Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(folder))
        {
            return (0, 0);
        }

        var files = 0;
        long bytes = 0;
        foreach (var temp in Directory.EnumerateFiles(folder, $"{TempPrefix}*.tmp", SearchOption.AllDirectories))
        {
            var info = new FileInfo(temp);
            if (info.Exists && info.LastWriteTimeUtc < writtenBefore.UtcDateTime && DeleteTemp(temp))
            {
                files++;
                bytes += info.Length;
            }
        }

        return (files, bytes);
    }

    private string PathOf(ObjectKey key)
    {
        if (key.Value.Length == 0)
        {
            throw new ArgumentException("the default ObjectKey is not a key", nameof(key));
        }

        return Path.Combine(_root, key.Value.Replace('/', Path.DirectorySeparatorChar));
    }

    private static ObjectInfo Info(ObjectKey key, FileInfo file) =>
        new(key, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero));

    /// <summary>Copies the source into a new file and flushes it to disk. Errors of the source escape untranslated.</summary>
    private async Task<PutResult> WriteTempAsync(ObjectKey key, Stream source, string temp, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        long size = 0;
        try
        {
            await using var file = FileSystem(
                key, () => new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1));
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                try
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
                catch (Exception e) when (Translate(e, key) is { } storage)
                {
                    throw storage;
                }

                size += read;
            }

            FileSystem(key, () => file.Flush(flushToDisk: true));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new PutResult(key, size, Convert.ToHexStringLower(hash.GetCurrentHash()));
    }

    private bool Move(ObjectKey key, string temp, string path, bool createOnly)
    {
        if (!createOnly)
        {
            File.Move(temp, path, overwrite: true);
            return true;
        }

        if (OperatingSystem.IsWindows())
        {
            try
            {
                File.Move(temp, path, overwrite: false);
                return true;
            }
            catch (IOException e) when (File.Exists(path))
            {
                throw new ObjectAlreadyExistsException(Location, key, e);
            }
        }

        // The temporary name is removed by the caller once the object's name links to the same file.
        if (NativeMethods.Link(NativeMethods.Utf8Z(temp), NativeMethods.Utf8Z(path)) == 0)
        {
            return true;
        }

        var error = Marshal.GetLastPInvokeError();
        if (error == NativeMethods.AlreadyExists)
        {
            throw new ObjectAlreadyExistsException(Location, key);
        }

        throw new IOException(
            $"could not create {path} (link(2) from its temporary file: {Marshal.GetPInvokeErrorMessage(error)}); a create-only write needs a file system with hard links",
            error);
    }

    /// <summary>Best effort (the Put's own outcome stands; listings never show a temporary file). A no-op after a rename.</summary>
    private static bool DeleteTemp(string temp)
    {
        try
        {
            File.Delete(temp);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Runs a file-system call, turning its errors into the store's exceptions.</summary>
    private T FileSystem<T>(ObjectKey key, Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (Exception e) when (Translate(e, key) is { } storage)
        {
            throw storage;
        }
    }

    private void FileSystem(ObjectKey key, Action operation) =>
        FileSystem(
            key,
            () =>
            {
                operation();
                return true;
            });

    /// <summary>
    /// Lists one folder's objects and, recursively, its subfolders', merged in ordinal key order: entries are
    /// sorted by name with folders compared as <c>name/</c>, which is exactly how their keys compare. Memory is one
    /// folder listing per level, not the whole tree.
    /// </summary>
    private async IAsyncEnumerable<ObjectInfo> ListFolderAsync(
        string folderKey, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var folder = folderKey.Length == 0 ? _root : Path.Combine(_root, folderKey.Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        var entries = new List<(string SortName, string Key, FileSystemInfo Entry)>();
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
        {
            var key = folderKey.Length == 0 ? entry.Name : $"{folderKey}/{entry.Name}";
            var isFolder = entry is DirectoryInfo;
            if (!ObjectKey.TryParse(key, out _) || (isFolder ? !PrefixAdmitsFolder(prefix, key) : !key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                continue;
            }

            entries.Add((isFolder ? entry.Name + "/" : entry.Name, key, entry));
        }

        entries.Sort((a, b) => string.CompareOrdinal(a.SortName, b.SortName));
        foreach (var (_, key, entry) in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry is DirectoryInfo)
            {
                await foreach (var info in ListFolderAsync(key, prefix, cancellationToken))
                {
                    yield return info;
                }
            }
            else if (entry is FileInfo { Exists: true } file)
            {
                yield return Info(ObjectKey.Parse(key), file);
            }
        }
    }

    /// <summary>True when keys under the folder can start with the prefix, or the prefix reaches into the folder.</summary>
    private static bool PrefixAdmitsFolder(string prefix, string folderKey) =>
        (folderKey + "/").StartsWith(prefix, StringComparison.Ordinal) || prefix.StartsWith(folderKey + "/", StringComparison.Ordinal);

    private StorageException? Translate(Exception e, ObjectKey key) => e switch
    {
        StorageException or OperationCanceledException => null,
        UnauthorizedAccessException => new AccessDeniedException(Location, key, "file permissions", e),
        IOException => new StorageException(Location, key, e.Message, isTransient: false, e),
        _ => null,
    };

    // DllImport rather than LibraryImport: the generated LibraryImport stub needs AllowUnsafeBlocks, and link(2) takes
    // two NUL-terminated byte arrays, which are pinned, not marshalled.
    private static class NativeMethods
    {
        /// <summary>EEXIST, the same on Linux and macOS.</summary>
        public const int AlreadyExists = 17;

        [DllImport("libc", EntryPoint = "link", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Link(byte[] existingPath, byte[] newPath);

        public static byte[] Utf8Z(string path) => Encoding.UTF8.GetBytes(path + "\0");
    }
}
