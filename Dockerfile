# syntax=docker/dockerfile:1
#
# bluegreen proxy and bgctl in one image.
#
#   docker build -t bluegreen .
#   docker run -p 6432:6432 -v bluegreen-state:/var/lib/bluegreen \
#     -e BLUE_URL=postgresql://bluegreen@db-blue:5432/app -e BLUE_PASSWORD \
#     -e GREEN_URL=postgresql://bluegreen@db-green:5432/app -e GREEN_PASSWORD \
#     -e APP_USER=app -e APP_PASSWORD bluegreen
#   docker exec <container> bgctl status
#
# The default configuration, /etc/bluegreen/bluegreen.yaml, is config/examples/container.yaml: it
# listens on 0.0.0.0:6432 (a container's loopback is unreachable from outside) and takes both
# clusters and one client user from the environment; an unset variable stops the proxy with a line
# naming it. For anything more, mount a file of your own over it
# (-v "$PWD/bluegreen.yaml:/etc/bluegreen/bluegreen.yaml:ro"); a non-loopback listener needs users,
# since trust is only the default on loopback.
# The admin API stays on 127.0.0.1:9432 by default, which bgctl reaches via `docker exec`; publish
# it only after setting admin.listen to a non-loopback address.
#
# Leave state_dir at its default: ./.bluegreen from the working directory is /var/lib/bluegreen/.bluegreen,
# in the volume below, and `docker exec … bgctl` starts in the same directory, so it finds the admin
# token the proxy wrote there (with another state_dir, run `bgctl --state-dir DIR`). The routing state
# (epoch, leader, weight, rollout plan) is kept there by the default file store, so keep the volume;
# several containers share one state with `state_store: postgresql://…` instead (each with a volume of
# its own, or with its token given in BLUEGREEN_ADMIN_TOKEN, when it then writes nothing there).
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
RUN groupadd --gid 10001 bluegreen \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/bluegreen --no-create-home \
      --shell /usr/sbin/nologin bluegreen \
 && mkdir -p /opt/bluegreen /etc/bluegreen /var/lib/bluegreen \
 && chown 10001:10001 /var/lib/bluegreen \
 && printf '#!/bin/sh\nexec java -jar /opt/bluegreen/bgctl.jar "$@"\n' > /usr/local/bin/bgctl \
 && chmod 0755 /usr/local/bin/bgctl
COPY --from=build /src/proxy/target/bluegreen-proxy.jar /src/control-cli/target/bgctl.jar /opt/bluegreen/
COPY config/examples/container.yaml /etc/bluegreen/bluegreen.yaml

USER 10001:10001
WORKDIR /var/lib/bluegreen
VOLUME /var/lib/bluegreen
EXPOSE 6432 9432
# GET /health needs no token. Through bash's /dev/tcp, as the image has no curl; it asks the admin API's
# default address, so a configuration that moves admin.listen off port 9432 wants a HEALTHCHECK of its own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/9432 && printf "GET /health HTTP/1.0\r\n\r\n" >&3 && grep -q "\"status\":\"ok\"" <&3'
ENTRYPOINT ["java","-jar","/opt/bluegreen/bluegreen-proxy.jar"]
CMD ["--config","/etc/bluegreen/bluegreen.yaml"]
