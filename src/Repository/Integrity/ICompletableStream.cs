namespace BackupDr.Repository.Integrity;

/// <summary>
/// A write stream whose output is only valid once <see cref="CompleteAsync"/> has run: it writes the trailer that
/// ends the object (a final segment, the end of a compressed frame). Disposing it without completing writes nothing
/// more, so a writer that fails or is cancelled half way can never leave an object that reads back as whole.
/// </summary>
/// <remarks>
/// In a chain (compressor -> encryptor -> store), complete from the outside in: the compressor first (its trailer
/// goes through the encryptor), then the encryptor. Completing does not complete or dispose the inner stream.
/// </remarks>
internal interface ICompletableStream
{
    /// <summary>True once <see cref="CompleteAsync"/> has finished.</summary>
    bool IsCompleted { get; }

    /// <summary>Writes the trailer and flushes it to the inner stream. Calling it again does nothing.</summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
