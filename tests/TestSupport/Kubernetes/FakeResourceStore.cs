using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace BackupDr.TestSupport.Kubernetes;

/// <summary>A stored object's address: resource (plural, e.g. <c>pods</c>), namespace (empty when cluster-scoped), name.</summary>
internal readonly record struct ObjectKey(string Resource, string Namespace, string Name);

/// <summary>
/// The fake API server's storage: JSON objects as a real API server keeps them, one resource version counter for all,
/// a history of changes (a watch from a resource version replays what came after it), and live watchers.
/// </summary>
internal sealed class FakeResourceStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ObjectKey, JsonObject> _objects = [];
    private readonly List<(long Version, string Type, ObjectKey Key, JsonObject Object)> _history = [];
    private readonly List<Watcher> _watchers = [];
    private readonly List<(Func<Watcher, bool> Match, TaskCompletionSource Opened)> _watchWaiters = [];
    private long _version;

    public long Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    public JsonObject? Get(ObjectKey key)
    {
        lock (_lock)
        {
            return _objects.TryGetValue(key, out var found) ? (JsonObject)found.DeepClone() : null;
        }
    }

    public IReadOnlyList<JsonObject> List(string resource, string? ns, Func<JsonObject, bool>? filter = null)
    {
        lock (_lock)
        {
            return _objects.Where(o => o.Key.Resource == resource && (ns is null || o.Key.Namespace == ns) && (filter is null || filter(o.Value)))
                .OrderBy(o => o.Key.Namespace, StringComparer.Ordinal).ThenBy(o => o.Key.Name, StringComparer.Ordinal)
                .Select(o => (JsonObject)o.Value.DeepClone()).ToList();
        }
    }

    /// <summary>Adds a new object (false when the name is taken), stamping uid, resource version and creation time.</summary>
    public bool TryAdd(ObjectKey key, JsonObject obj, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_objects.ContainsKey(key))
            {
                return false;
            }

            var metadata = obj["metadata"] as JsonObject ?? [];
            obj["metadata"] = metadata;
            metadata["uid"] = Guid.NewGuid().ToString();
            metadata["creationTimestamp"] = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            Commit("ADDED", key, obj);
            return true;
        }
    }

    /// <summary>Changes a stored object in place; false when it is gone.</summary>
    public bool Update(ObjectKey key, Action<JsonObject> change)
    {
        lock (_lock)
        {
            if (!_objects.TryGetValue(key, out var current))
            {
                return false;
            }

            var changed = (JsonObject)current.DeepClone();
            change(changed);
            Commit("MODIFIED", key, changed);
            return true;
        }
    }

    public bool Remove(ObjectKey key)
    {
        lock (_lock)
        {
            if (!_objects.TryGetValue(key, out var current))
            {
                return false;
            }

            Commit("DELETED", key, (JsonObject)current.DeepClone());
            return true;
        }
    }

    /// <summary>
    /// Registers a watcher: replays objects as ADDED (no resource version) or the changes after <paramref name="fromVersion"/>,
    /// then every matching change until the reader stops.
    /// </summary>
    /// <param name="labelSelector">The selector as the client wrote it (for <see cref="WhenWatched"/>); <paramref name="match"/> applies it.</param>
    public ChannelReader<string> Watch(
        string resource, string? ns, string? name, string labelSelector, Func<JsonObject, bool> match, long? fromVersion, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<string>();
        var watcher = new Watcher(resource, ns, name, labelSelector, match, channel.Writer);
        lock (_lock)
        {
            if (fromVersion is { } from)
            {
                foreach (var change in _history.Where(h => h.Version > from && watcher.Sees(h.Key, h.Object)))
                {
                    channel.Writer.TryWrite(Event(change.Type, change.Object));
                }
            }
            else
            {
                foreach (var (key, obj) in _objects.Where(o => watcher.Sees(o.Key, o.Value)))
                {
                    channel.Writer.TryWrite(Event("ADDED", obj));
                }
            }

            _watchers.Add(watcher);
            foreach (var waiter in _watchWaiters.Where(w => w.Match(watcher)).ToList())
            {
                waiter.Opened.TrySetResult();
                _watchWaiters.Remove(waiter);
            }
        }

        cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                _watchers.Remove(watcher);
            }

            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    /// <summary>
    /// Completes when a watch on <paramref name="resource"/> (of the named object, or with the label selector, when
    /// given) is open or opens.
    /// </summary>
    public Task WhenWatched(string resource, string? name, string? labelSelector = null)
    {
        bool Match(Watcher w) => w.Resource == resource && (name is null || w.Name == name) && (labelSelector is null || w.LabelSelector == labelSelector);
        lock (_lock)
        {
            if (_watchers.Any(Match))
            {
                return Task.CompletedTask;
            }

            var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _watchWaiters.Add((Match, opened));
            return opened.Task;
        }
    }

    private void Commit(string type, ObjectKey key, JsonObject obj)
    {
        _version++;
        ((JsonObject)obj["metadata"]!)["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture);
        if (type == "DELETED")
        {
            _objects.Remove(key);
        }
        else
        {
            _objects[key] = obj;
        }

        var copy = (JsonObject)obj.DeepClone();
        _history.Add((_version, type, key, copy));
        foreach (var watcher in _watchers.Where(w => w.Sees(key, copy)))
        {
            watcher.Writer.TryWrite(Event(type, copy));
        }
    }

    private static string Event(string type, JsonObject obj) => new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString();

    private sealed record Watcher(string Resource, string? Namespace, string? Name, string LabelSelector, Func<JsonObject, bool> Match, ChannelWriter<string> Writer)
    {
        public bool Sees(ObjectKey key, JsonObject obj) =>
            key.Resource == Resource && (Namespace is null || key.Namespace == Namespace) && Match(obj);
    }
}
