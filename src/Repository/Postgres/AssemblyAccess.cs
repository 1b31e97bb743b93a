using System.Runtime.CompilerServices;

// The demo generator (tools/OdooDemo, assembly odoo-demo) runs its throwaway cluster with PostgresCluster.
// Declared here rather than in src/Directory.Build.props because only the Postgres feature is meant for it.
[assembly: InternalsVisibleTo("odoo-demo")]
