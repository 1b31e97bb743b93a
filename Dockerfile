# syntax=docker/dockerfile:1
# BackupDr container image: `backupdr` (src/BackupWorker) on the ASP.NET Core runtime (the worker serves /healthz,
# /readyz and /metrics with Kestrel), with PostgreSQL's tools for every supported major.
#
#   docker build -t registry.example.com/backupdr:0.1.0 .
#   docker build --build-arg LOCAL_SANDBOX=false -t registry.example.com/backupdr:0.1.0-client .   # clients only
#
# Never built on the machine this repository is developed on (no Docker engine there): tests/Deploy.Tests checks
# this file statically (stages, non-root numeric USER, publish path, no secrets) and the chart against it.
# Contract with deploy/helm/backupdr: UID/GID 10001, entrypoint /app/backupdr, writable paths only under
# /var/lib/backupdr (work) and /tmp, both volumes, so the root filesystem can be mounted read-only.

ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}-noble AS build
WORKDIR /src
# global.json is left out on purpose: it pins the developers' SDK feature band; the SDK image brings its own.
COPY Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig appsettings.json ./
COPY src/ src/
RUN dotnet restore src/BackupWorker/BackupWorker.csproj -r linux-x64
# ReadyToRun, as bench/ measures it (bench/build-backupdr.sh): start-up and the first backup do not wait for the JIT.
RUN dotnet publish src/BackupWorker/BackupWorker.csproj -c Release -r linux-x64 --self-contained false \
      -p:PublishReadyToRun=true --no-restore -o /out \
 && test -x /out/backupdr && test -f /out/backupdr.dll && test -f /out/appsettings.json

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble AS runtime
# PostgreSQL majors whose pg_dump/pg_restore (and, with LOCAL_SANDBOX, initdb/pg_ctl/postgres) are installed from
# the PGDG repository into /usr/lib/postgresql/<major>/bin, where PostgresInstallation looks first.
ARG PG_MAJORS="15 16 17"
# true: server binaries too, so `Sandbox:Kind=Local` drills (and `backupdr restore` into a throwaway cluster) run
# inside the pod; false: client tools only (Kubernetes sandboxes run PostgreSQL in their own pods).
ARG LOCAL_SANDBOX=true
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    install -d /usr/share/postgresql-common/pgdg /etc/postgresql-common; \
    curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    . /etc/os-release; \
    echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list; \
    # No default cluster: the image never runs a server of its own; sandboxes make theirs.
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf; \
    apt-get update; \
    packages=""; \
    for major in $PG_MAJORS; do \
      if [ "$LOCAL_SANDBOX" = "true" ]; then packages="$packages postgresql-$major"; else packages="$packages postgresql-client-$major"; fi; \
    done; \
    apt-get install -y --no-install-recommends $packages; \
    apt-get purge -y curl; apt-get autoremove -y; rm -rf /var/lib/apt/lists/*; \
    for major in $PG_MAJORS; do /usr/lib/postgresql/$major/bin/pg_dump --version; /usr/lib/postgresql/$major/bin/pg_restore --version; done

# A fixed numeric UID/GID, so Kubernetes can check runAsNonRoot and the chart's runAsUser matches.
RUN groupadd --system --gid 10001 backupdr \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/backupdr --no-create-home --shell /usr/sbin/nologin backupdr \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/backupdr

COPY --from=build /out /app
RUN ln -s /app/backupdr /usr/local/bin/backupdr

# Everything the process writes: the work path (sandboxes, restore staging, relative paths) and /tmp (.NET's
# diagnostics socket, temp files). HOME points into the work path so nothing is written under a read-only /home.
ENV HOME=/var/lib/backupdr \
    TMPDIR=/tmp \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1
WORKDIR /var/lib/backupdr
VOLUME ["/var/lib/backupdr", "/tmp"]
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/app/backupdr"]
CMD ["run"]
