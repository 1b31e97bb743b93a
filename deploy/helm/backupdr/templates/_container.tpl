{{/* The container's environment: every referenced secret under the name the configuration reader expects. */}}
{{- define "backupdr.env" -}}
{{- $s := .Values.secrets -}}
{{- if $s.s3.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ $s.s3.existingSecret | quote }}, key: {{ $s.s3.accessKeyIdKey | quote }}}}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ $s.s3.existingSecret | quote }}, key: {{ $s.s3.secretAccessKeyKey | quote }}}}
{{- end }}
{{- if $s.azure.existingSecret }}
- name: BackupDr__Repository__Azure__ConnectionString
  valueFrom: {secretKeyRef: {name: {{ $s.azure.existingSecret | quote }}, key: {{ $s.azure.connectionStringKey | quote }}}}
{{- end }}
{{- if $s.scheduler.existingSecret }}
- name: BackupDr__Scheduler__ConnectionString
  valueFrom: {secretKeyRef: {name: {{ $s.scheduler.existingSecret | quote }}, key: {{ $s.scheduler.connectionStringKey | quote }}}}
{{- end }}
{{- if $s.email.existingSecret }}
- name: BackupDr__Notifications__Email__Password
  valueFrom: {secretKeyRef: {name: {{ $s.email.existingSecret | quote }}, key: {{ $s.email.passwordKey | quote }}}}
{{- end }}
{{- if $s.webhook.existingSecret }}
- name: BackupDr__Notifications__Webhook__Url
  valueFrom: {secretKeyRef: {name: {{ $s.webhook.existingSecret | quote }}, key: {{ $s.webhook.urlKey | quote }}}}
- name: BackupDr__Notifications__Webhook__Secret
  valueFrom: {secretKeyRef: {name: {{ $s.webhook.existingSecret | quote }}, key: {{ $s.webhook.secretKey | quote }}, optional: true}}
{{- end }}
{{- range $s.targets }}
{{- $index := include "backupdr.targetIndex" (dict "root" $ "name" .target) }}
{{- if .connectionStringKey }}
- name: BackupDr__Targets__{{ $index }}__ConnectionString
  valueFrom: {secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .connectionStringKey | quote }}}}
{{- end }}
{{- if .odooPasswordKey }}
- name: BackupDr__Targets__{{ $index }}__Drill__Odoo__Password
  valueFrom: {secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .odooPasswordKey | quote }}}}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* What the worker and its init container share: environment, resources, security context, mounts. */}}
{{- define "backupdr.containerCommon" -}}
{{- with include "backupdr.env" . }}
env:
  {{- . | trim | nindent 2 }}
{{- end }}
{{- with .Values.extraEnvFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
resources:
  {{- toYaml .Values.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - {name: config, mountPath: /etc/backupdr/appsettings.json, subPath: appsettings.json, readOnly: true}
  - {name: passphrase, mountPath: /etc/backupdr/passphrase, readOnly: true}
  - {name: work, mountPath: /var/lib/backupdr}
  - {name: tmp, mountPath: /tmp}
  {{- if eq (include "backupdr.repositoryKind" .) "Local" }}
  - {name: repository, mountPath: /var/lib/backupdr/repository}
  {{- end }}
  {{- if eq (include "backupdr.sandboxKind" .) "Local" }}
  - {name: shm, mountPath: /dev/shm}
  {{- end }}
  {{- with .Values.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
