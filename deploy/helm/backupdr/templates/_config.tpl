{{/*
The configuration the pod runs with: values.config plus the keys the chart owns (mount paths and fleet mode).
Rendered once here so the ConfigMap and its checksum annotation agree.
*/}}
{{- define "backupdr.renderedConfig" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- $bd := get $cfg "BackupDr" | default dict -}}
{{- $_ := set $cfg "BackupDr" $bd -}}
{{- $repository := get $bd "Repository" | default dict -}}
{{- $_ := set $bd "Repository" $repository -}}
{{- $_ := set $repository "PassphraseFile" (printf "/etc/backupdr/passphrase/%s" .Values.secrets.passphrase.key) -}}
{{- if eq (include "backupdr.repositoryKind" .) "Local" -}}
{{- $_ := set $repository "Path" "/var/lib/backupdr/repository" -}}
{{- end -}}
{{- $sandbox := get $bd "Sandbox" | default dict -}}
{{- $_ := set $bd "Sandbox" $sandbox -}}
{{- if not (get $sandbox "WorkPath") -}}
{{- $_ := set $sandbox "WorkPath" "/var/lib/backupdr/sandboxes" -}}
{{- end -}}
{{- if include "backupdr.clustered" . -}}
{{- $scheduler := get $bd "Scheduler" | default dict -}}
{{- $_ := set $bd "Scheduler" $scheduler -}}
{{- $_ := set $scheduler "Clustered" true -}}
{{- end -}}
{{- toPrettyJson $cfg -}}
{{- end -}}

{{/*
Refuses values that would run a broken or leaky deployment, each with what to do instead. Included by the
Deployment, so `helm template` and `helm install` both stop here.
*/}}
{{- define "backupdr.validate" -}}
{{- $bd := include "backupdr.section" . | fromJson -}}
{{- $repository := $bd.Repository | default dict -}}
{{- $scheduler := $bd.Scheduler | default dict -}}
{{- $notifications := $bd.Notifications | default dict -}}
{{- if include "backupdr.clustered" . -}}
{{- if not .Values.secrets.scheduler.existingSecret -}}
{{- fail (printf "replicas: %d runs the clustered scheduler, which needs its PostgreSQL job store: set secrets.scheduler.existingSecret to a Secret holding the Npgsql connection string (with password) under key %q, or set replicas: 1" (int .Values.replicas) .Values.secrets.scheduler.connectionStringKey) -}}
{{- end -}}
{{- if eq (include "backupdr.repositoryKind" .) "Local" -}}
{{- fail (printf "replicas: %d cannot share a Local repository (one volume, one writer): use config.BackupDr.Repository.Kind S3 or Azure, or replicas: 1" (int .Values.replicas)) -}}
{{- end -}}
{{- end -}}
{{- if $repository.Passphrase -}}
{{- fail "config.BackupDr.Repository.Passphrase would put the passphrase in a ConfigMap: remove it and set secrets.passphrase.existingSecret" -}}
{{- end -}}
{{- if ($repository.Azure | default dict).ConnectionString -}}
{{- fail "config.BackupDr.Repository.Azure.ConnectionString would put a credential in a ConfigMap: remove it and set secrets.azure.existingSecret" -}}
{{- end -}}
{{- if regexMatch "(?i)(password|pwd)\\s*=" (($scheduler.ConnectionString | default "") | toString) -}}
{{- fail "config.BackupDr.Scheduler.ConnectionString holds a password, which would land in a ConfigMap: remove it and set secrets.scheduler.existingSecret" -}}
{{- end -}}
{{- range $i, $t := ($bd.Targets | default list) -}}
{{- if regexMatch "(?i)(password|pwd)\\s*=" (($t.ConnectionString | default "") | toString) -}}
{{- fail (printf "config.BackupDr.Targets[%d].ConnectionString (%s) holds a password, which would land in a ConfigMap: remove it and add the target to secrets.targets" $i ($t.Name | default "?")) -}}
{{- end -}}
{{- if ((($t.Drill | default dict).Odoo | default dict).Password) -}}
{{- fail (printf "config.BackupDr.Targets[%d].Drill.Odoo.Password would land in a ConfigMap: set secrets.targets[].odooPasswordKey for target %s" $i ($t.Name | default "?")) -}}
{{- end -}}
{{- end -}}
{{- if (($notifications.Email | default dict).Password) -}}
{{- fail "config.BackupDr.Notifications.Email.Password would land in a ConfigMap: set secrets.email.existingSecret" -}}
{{- end -}}
{{- if or (($notifications.Webhook | default dict).Url) (($notifications.Webhook | default dict).Secret) -}}
{{- fail "config.BackupDr.Notifications.Webhook.Url and .Secret are secrets (Slack and Teams URLs hold the credential): set secrets.webhook.existingSecret" -}}
{{- end -}}
{{- range .Values.secrets.targets -}}
{{- $_ := include "backupdr.targetIndex" (dict "root" $ "name" .target) -}}
{{- end -}}
{{- end -}}
