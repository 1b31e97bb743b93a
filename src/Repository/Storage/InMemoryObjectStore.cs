using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace BackupDr.Repository.Storage;

/// <summary>
/// Objects in a dictionary, for unit tests of the layers above storage. Same contract as the real stores: a Put
/// becomes visible only when the whole source has been read; IfNotExists is atomic; listings are ordinal.
/// </summary>
internal sealed class InMemoryObjectStore(TimeProvider? timeProvider = null) : IObjectStore
{
    private readonly ConcurrentDictionary<string, StoredObject> _objects = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public StoreCapabilities Capabilities { get; } = new(ConditionalCreate: true, MaxObjectSizeBytes: Array.MaxLength);

    public string Location { get; init; } = "memory://";

    /// <summary>Keys currently stored, in ordinal order (for assertions).</summary>
    public IReadOnlyList<string> Keys => [.. _objects.Keys.Order(StringComparer.Ordinal)];

    public async Task<PutResult> PutAsync(ObjectKey key, Stream source, PutOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        EnsureKey(key);
        if (options.IfNotExists && _objects.ContainsKey(key.Value))
        {
            throw new ObjectAlreadyExistsException(Location, key);
        }

        using var copy = new MemoryStream();
        await source.CopyToAsync(copy, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        var stored = new StoredObject(copy.ToArray(), _time.GetUtcNow());
        if (options.IfNotExists)
        {
            if (!_objects.TryAdd(key.Value, stored))
            {
                throw new ObjectAlreadyExistsException(Location, key);
            }
        }
        else
        {
            _objects[key.Value] = stored;
        }

        return new PutResult(key, stored.Bytes.Length, Convert.ToHexStringLower(SHA256.HashData(stored.Bytes)));
    }

    /// <summary>A read-only stream over the object's bytes at the time of the call; the caller disposes it.</summary>
    public Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureKey(key);
        return _objects.TryGetValue(key.Value, out var stored)
            ? Task.FromResult<Stream>(new MemoryStream(stored.Bytes, writable: false))
            : throw new ObjectNotFoundException(Location, key);
    }

    public Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureKey(key);
        return Task.FromResult(_objects.TryGetValue(key.Value, out var stored) ? Info(key.Value, stored) : null);
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectKey.ValidatePrefix(prefix);
        var snapshot = _objects
            .Where(pair => pair.Key.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .ToList();
        foreach (var (key, stored) in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return Info(key, stored);
        }
    }

    public Task DeleteAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureKey(key);
        _objects.TryRemove(key.Value, out _);
        return Task.CompletedTask;
    }

    private static ObjectInfo Info(string key, StoredObject stored) =>
        new(ObjectKey.Parse(key), stored.Bytes.Length, stored.LastModified);

    private static void EnsureKey(ObjectKey key)
    {
        if (key.Value.Length == 0)
        {
            throw new ArgumentException("the default ObjectKey is not a key", nameof(key));
        }
    }

    private sealed record StoredObject(byte[] Bytes, DateTimeOffset LastModified);
}
