# syntax=docker/dockerfile:1
#
# bluegreen proxy and bgctl in one image.
#
#   docker build -t bluegreen .
#   docker run -p 6432:6432 \
#     -v "$PWD/bluegreen.yaml:/etc/bluegreen/bluegreen.yaml:ro" \
#     -v bluegreen-state:/var/lib/bluegreen \
#     -e BLUE_PASSWORD -e GREEN_PASSWORD bluegreen
#   docker exec <container> bgctl --version
#
# Inside a container the SQL listener must be non-loopback to be reachable (listen: "0.0.0.0:6432"),
# and a non-loopback listener requires configured users: trust is only the default on loopback.
# The admin API stays on 127.0.0.1:9432 by default, which bgctl reaches via `docker exec`; publish
# it only after setting admin.listen to a non-loopback address.
#
# Leave state_dir at its default: ./.bluegreen from the working directory is /var/lib/bluegreen/.bluegreen,
# in the volume below, and `docker exec … bgctl` starts in the same directory, so it finds the admin
# token the proxy wrote there (with another state_dir, run `bgctl --state-dir DIR`). The routing state
# (epoch, leader, weight, rollout plan) is kept there by the default file store, so keep the volume;
# several containers share one state with `state_store: postgresql://…` instead.
#
# On `docker stop` the proxy drains sessions for timeouts.shutdown_grace (30s by default), longer
# than Docker's default 10s stop timeout: use `docker stop -t 40` or stop_grace_period: 40s.

FROM eclipse-temurin:21-jdk AS build
WORKDIR /src
COPY . .
# The cache mount keeps Maven's repository (and the wrapper's Maven) between builds, which does
# what a separate dependency:go-offline layer would, without its trouble with reactor modules.
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -ntp -DskipTests -pl proxy,control-cli -am package

FROM eclipse-temurin:21-jre
# procps for kill(1): --embedded stops its clusters with SIGINT and SIGQUIT, which Java cannot send
RUN apt-get update \
 && apt-get install -y --no-install-recommends procps \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 bluegreen \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/bluegreen --no-create-home \
      --shell /usr/sbin/nologin bluegreen \
 && mkdir -p /opt/bluegreen /etc/bluegreen /var/lib/bluegreen \
 && chown 10001:10001 /var/lib/bluegreen \
 && printf '#!/bin/sh\nexec java -jar /opt/bluegreen/bgctl.jar "$@"\n' > /usr/local/bin/bgctl \
 && chmod 0755 /usr/local/bin/bgctl
COPY --from=build /src/proxy/target/bluegreen-proxy.jar /src/control-cli/target/bgctl.jar /opt/bluegreen/

USER 10001:10001
WORKDIR /var/lib/bluegreen
VOLUME /var/lib/bluegreen
EXPOSE 6432 9432
ENTRYPOINT ["java","-jar","/opt/bluegreen/bluegreen-proxy.jar"]
CMD ["--config","/etc/bluegreen/bluegreen.yaml"]
