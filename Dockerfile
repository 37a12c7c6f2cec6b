# syntax=docker/dockerfile:1.7
# One image for every target: which services a container runs comes from the environment
# (Chat4All__Targets, e.g. "messaging"; `--target` on the command line overrides it), so k8s/ and
# dapr.yaml start the same image as five different apps. Build: docker build -t chat4all-host .
#
# Runtime stage: Ubuntu chiseled ASP.NET image — no shell, no package manager, runs as the non-root
# `app` user (uid 1654) — and writes nothing outside /tmp, so it runs with a read-only root filesystem
# (mount an emptyDir at /tmp; Chat4All__DataDirectory defaults under it).

# global.json asks for SDK 10.0.401 or a later feature band; the 10.0 tag is the newest 10.0 SDK.
ARG DOTNET_SDK_VERSION=10.0
ARG DOTNET_RUNTIME_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_SDK_VERSION} AS build
WORKDIR /src

# Restore first, from the project files only, so source edits reuse the restored layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY services/Chat4All.Contracts/Chat4All.Contracts.csproj services/Chat4All.Contracts/
COPY services/Chat4All.BuildingBlocks/Chat4All.BuildingBlocks.csproj services/Chat4All.BuildingBlocks/
COPY services/Chat4All.ServiceDefaults/Chat4All.ServiceDefaults.csproj services/Chat4All.ServiceDefaults/
COPY services/Chat4All.Identity/Chat4All.Identity.csproj services/Chat4All.Identity/
COPY services/Chat4All.Messaging/Chat4All.Messaging.csproj services/Chat4All.Messaging/
COPY services/Chat4All.Delivery/Chat4All.Delivery.csproj services/Chat4All.Delivery/
COPY services/Chat4All.Realtime/Chat4All.Realtime.csproj services/Chat4All.Realtime/
COPY services/Chat4All.Files/Chat4All.Files.csproj services/Chat4All.Files/
COPY services/Chat4All.Host/Chat4All.Host.csproj services/Chat4All.Host/
COPY clients/Chat4All.WebConsole/Chat4All.WebConsole.csproj clients/Chat4All.WebConsole/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore services/Chat4All.Host/Chat4All.Host.csproj

COPY services/ services/
COPY clients/Chat4All.WebConsole/ clients/Chat4All.WebConsole/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish services/Chat4All.Host/Chat4All.Host.csproj \
        --configuration Release --no-restore --output /app \
        -p:UseAppHost=false -p:DebugType=none -p:GenerateDocumentationFile=false

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_RUNTIME_VERSION}-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build --chown=root:root --chmod=0555 /app ./

ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_RUNNING_IN_CONTAINER=true \
    DOTNET_EnableDiagnostics=0 \
    Chat4All__Targets=all \
    Chat4All__DataDirectory=/tmp/chat4all

EXPOSE 8080
USER app

# `docker run IMAGE` serves Chat4All__Targets; `docker run IMAGE migrate` applies migrations and exits.
ENTRYPOINT ["dotnet", "Chat4All.Host.dll"]
