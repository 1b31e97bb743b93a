using BackupDr.DrillRunner.Probes;
using BackupDr.Repository.Configuration;

namespace BackupDr.DrillRunner.Drills;

/// <summary>
/// The probes of a target's drill, in three sets. The probes of table data start as soon as pg_restore has committed
/// every table's rows (while indexes build and the filestore restores): the fingerprints, which neutralization waits
/// for because it changes settings tables, and the ledger and recency probes, which read tables it does not touch.
/// The probes of the copy need it whole: the restored filestore, the neutralized settings, the Odoo server, the
/// target's custom SQL.
/// </summary>
internal static class DrillProbes
{
    public static IReadOnlyList<IProbe> BeforeNeutralization() => [new FingerprintsProbe()];

    public static IReadOnlyList<IProbe> OfTableData() => [new LedgerProbe(), new RecencyProbe()];

    public static IReadOnlyList<IProbe> OfCopy(TargetOptions target, HttpClient http)
    {
        var probes = new List<IProbe> { new AttachmentsProbe(), new NeutralizationProbe() };
        if (target.Drill.Odoo is { } odoo)
        {
            probes.Add(new OdooHttpProbe(odoo, http));
            probes.Add(new OdooXmlRpcProbe(odoo, http));
        }

        probes.AddRange(target.Drill.Probes.Select(p => new SqlProbe(p)));
        return probes;
    }
}
