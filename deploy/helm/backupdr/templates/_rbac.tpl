{{/*
THE one place the chart's permissions for Kubernetes sandboxes are written (tests/Deploy.Tests compares them with
the code's list, KubernetesSandboxPermissions.Required). No wildcards; secrets may be created (the sandbox server's
per-drill password), never read; no update, patch or delete of objects inside a sandbox namespace: deleting the
namespace removes them (the namespace controller does, not our account).
*/}}

{{/* Cluster-scoped: each drill creates a namespace of its own; the janitor lists them by label and deletes them. */}}
{{- define "backupdr.rbac.namespaceRules" -}}
- apiGroups: [""]
  resources: [namespaces]
  verbs: [create, get, list, watch, delete]
{{- end -}}

{{/*
Inside sandbox namespaces. Namespaces are created per drill, so no Role can be placed in them beforehand and
Kubernetes RBAC cannot select namespaces by label: these rules are granted cluster-wide (docs/architecture.md,
Deployment, says what that means and how to fence it).
*/}}
{{- define "backupdr.rbac.sandboxRules" -}}
- apiGroups: [""]
  resources: [pods]
  verbs: [create, get, list, watch]
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
- apiGroups: [""]
  resources: [pods/portforward]
  verbs: [create, get]
- apiGroups: [""]
  resources: [secrets]
  verbs: [create]
- apiGroups: [""]
  resources: [resourcequotas, limitranges]
  verbs: [create]
- apiGroups: [""]
  resources: [events]
  verbs: [list]
- apiGroups: [""]
  resources: [services]
  verbs: [create]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [create, get]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [create]
{{- end -}}
