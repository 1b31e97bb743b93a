using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Storage;

public sealed class InMemoryObjectStoreContractTests : ObjectStoreContract
{
    protected override long PartSizeBytes => 64 * 1024;

    internal override Task<IObjectStore> CreateStoreAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IObjectStore>(new InMemoryObjectStore());
}
