namespace BackupDr.Repository.Audit;

/// <summary>
/// What the hash chain alone cannot see: records cut from its end, and backups that appeared or vanished without
/// BackupDr. Compares the trail's backup records with the manifests actually in the repository.
/// </summary>
internal static class AuditCrossCheck
{
    /// <param name="records">The authentic records, in order.</param>
    /// <param name="manifests">Every backup that exists: (target, backup id).</param>
    public static IReadOnlyList<AuditProblem> Compare(IReadOnlyList<AuditRecord> records, IEnumerable<(string Target, string BackupId)> manifests)
    {
        var created = new HashSet<(string, string)>();
        var pruned = new HashSet<(string, string)>();
        foreach (var record in records)
        {
            switch (record.Kind)
            {
                case AuditEventKind.BackupCreated:
                    created.Add((record.Target, record.Subject));
                    break;
                case AuditEventKind.BackupPruned:
                    pruned.Add((record.Target, record.Subject));
                    break;
            }
        }

        var problems = new List<AuditProblem>();
        var existing = new HashSet<(string, string)>();
        foreach (var (target, backupId) in manifests)
        {
            existing.Add((target, backupId));
            if (!created.Contains((target, backupId)))
            {
                problems.Add(new AuditProblem(
                    $"targets/{target}/backups/{backupId}",
                    "this backup has no audit record: it was written without BackupDr's audit trail, or records were cut from the trail's end"));
            }
        }

        foreach (var (target, backupId) in created.Where(c => !existing.Contains(c) && !pruned.Contains(c)).Order())
        {
            problems.Add(new AuditProblem(
                $"targets/{target}/backups/{backupId}",
                "this backup is recorded as created but is gone without a prune record: it was deleted outside BackupDr"));
        }

        return problems;
    }
}
