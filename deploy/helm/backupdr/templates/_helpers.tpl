{{- define "backupdr.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "backupdr.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "backupdr.labels" -}}
{{ include "backupdr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "backupdr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "backupdr.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "backupdr.passphraseSecret" -}}
{{- default (printf "%s-passphrase" (include "backupdr.fullname" .)) .Values.secrets.passphrase.existingSecret -}}
{{- end -}}

{{/* The BackupDr section of values.config (an empty dict when absent). */}}
{{- define "backupdr.section" -}}
{{- $root := .Values.config | default dict -}}
{{- toJson ($root.BackupDr | default dict) -}}
{{- end -}}

{{- define "backupdr.repositoryKind" -}}
{{- $bd := include "backupdr.section" . | fromJson -}}
{{- (($bd.Repository | default dict).Kind | default "Local") -}}
{{- end -}}

{{- define "backupdr.sandboxKind" -}}
{{- $bd := include "backupdr.section" . | fromJson -}}
{{- (($bd.Sandbox | default dict).Kind | default "Local") -}}
{{- end -}}

{{- define "backupdr.httpPort" -}}
{{- $bd := include "backupdr.section" . | fromJson -}}
{{- (($bd.Http | default dict).Port | default 8080) | int -}}
{{- end -}}

{{- define "backupdr.clustered" -}}
{{- if gt (int .Values.replicas) 1 -}}true{{- end -}}
{{- end -}}

{{/*
Scheduler:ShutdownTimeout in whole seconds, rounded up. TimeSpan text as the configuration reader takes it:
[d.]hh:mm:ss[.fffffff]; default 00:00:30.
*/}}
{{- define "backupdr.shutdownTimeoutSeconds" -}}
{{- $bd := include "backupdr.section" . | fromJson -}}
{{- $text := (($bd.Scheduler | default dict).ShutdownTimeout | default "00:00:30") | toString -}}
{{- if not (regexMatch "^([0-9]+\\.)?[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,7})?$" $text) -}}
{{- fail (printf "config.BackupDr.Scheduler.ShutdownTimeout %q is not a duration [d.]hh:mm:ss[.fff] (e.g. \"00:00:30\")" $text) -}}
{{- end -}}
{{- $days := 0 -}}
{{- $clock := $text -}}
{{- $dayParts := regexFind "^[0-9]+\\." $text -}}
{{- if $dayParts -}}
{{- $days = trimSuffix "." $dayParts | int -}}
{{- $clock = trimPrefix $dayParts $text -}}
{{- end -}}
{{- $parts := splitList ":" $clock -}}
{{- $secondParts := splitList "." (index $parts 2) -}}
{{- $seconds := add (mul $days 86400) (mul (index $parts 0 | int) 3600) (mul (index $parts 1 | int) 60) (index $secondParts 0 | int) -}}
{{- if and (gt (len $secondParts) 1) (gt ((index $secondParts 1) | int) 0) -}}
{{- $seconds = add1 $seconds -}}
{{- end -}}
{{- $seconds -}}
{{- end -}}

{{/* Index of a target in config.BackupDr.Targets by Name; fails naming the target when there is none. */}}
{{- define "backupdr.targetIndex" -}}
{{- $bd := include "backupdr.section" .root | fromJson -}}
{{- $found := -1 -}}
{{- range $i, $t := ($bd.Targets | default list) -}}
{{- if eq (($t.Name | default "") | toString) $.name -}}{{- $found = $i -}}{{- end -}}
{{- end -}}
{{- if lt $found 0 -}}
{{- fail (printf "secrets.targets names target %q, which is not in config.BackupDr.Targets" .name) -}}
{{- end -}}
{{- $found -}}
{{- end -}}

{{- define "backupdr.rbacEnabled" -}}
{{- if kindIs "bool" .Values.rbac.create -}}
{{- if .Values.rbac.create -}}true{{- end -}}
{{- else if eq (include "backupdr.sandboxKind" .) "Kubernetes" -}}true{{- end -}}
{{- end -}}
