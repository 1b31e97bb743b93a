using BackupDr.DrillRunner.Probes;
using BackupDr.Repository.Configuration;

namespace BackupDr.DrillRunner.Drills;

/// <summary>
/// The probes of a target's drill, in four sets. The probes of table data start as soon as pg_restore has ended (the
/// filestore restores beside them): the fingerprints, which neutralization waits for because it changes settings
/// tables, and the ledger and recency probes, which read tables it does not touch. The attachments probe follows as
/// soon as the filestore is restored too. The probes of the copy need it whole and neutralized: the neutralization
/// probe, the Odoo server, the target's custom SQL.
/// </summary>
internal static class DrillProbes
{
    public static IReadOnlyList<IProbe> BeforeNeutralization() => [new FingerprintsProbe()];

    public static IReadOnlyList<IProbe> OfTableData() => [new LedgerProbe(), new RecencyProbe()];

    /// <summary>The attachments probe: it starts once both the table data and the filestore are restored.</summary>
    public static IReadOnlyList<IProbe> OfFilestore() => [new AttachmentsProbe()];

    /// <param name="odoo">
    /// The target's <c>Drill:Odoo</c>, with the URL of the sandbox's own Odoo server when it has none (null: no Odoo probes).
    /// </param>
    public static IReadOnlyList<IProbe> OfCopy(TargetOptions target, OdooProbeOptions? odoo, HttpClient http)
    {
        var probes = new List<IProbe> { new NeutralizationProbe() };
        if (odoo is not null)
        {
            probes.Add(new OdooHttpProbe(odoo, http));
            probes.Add(new OdooXmlRpcProbe(odoo, http));
        }

        probes.AddRange(target.Drill.Probes.Select(p => new SqlProbe(p)));
        return probes;
    }
}
