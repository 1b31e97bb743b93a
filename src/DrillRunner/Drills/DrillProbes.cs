using BackupDr.DrillRunner.Probes;
using BackupDr.Repository.Configuration;

namespace BackupDr.DrillRunner.Drills;

/// <summary>The probes of a target's drill: the built-in ones, the Odoo ones when an Odoo URL is configured, then its custom SQL probes.</summary>
internal static class DrillProbes
{
    public static IReadOnlyList<IProbe> For(TargetOptions target, HttpClient http)
    {
        var probes = new List<IProbe> { new FingerprintsProbe(), new LedgerProbe(), new AttachmentsProbe(), new NeutralizationProbe(), new RecencyProbe() };
        if (target.Drill.Odoo is { } odoo)
        {
            probes.Add(new OdooHttpProbe(odoo, http));
            probes.Add(new OdooXmlRpcProbe(odoo, http));
        }

        probes.AddRange(target.Drill.Probes.Select(p => new SqlProbe(p)));
        return probes;
    }
}
