# A local stand-in for bitshares/bitshares-core, for machines that cannot pull it (our CI).
# It has the official image's layout: user bitshares 10000, group 10001, HOME and volumes
# /var/lib/bitshares and /etc/bitshares, ports 8090 and 1776. It is Debian 11, whose glibc is 2.31
# as the official image's Ubuntu 20.04, so the launcher runs on the C library it will meet.
# It has NO witness_node: /usr/local/bin/witness_node is a shell script that models only
# witness_node's stop (stand-in-witness_node). A node image built on it serves a chain only with
# the devnet engine (BTS_NODE_ENGINE=devnet); docs/node.md says what that proves.
#   docker build -f deploy/node/stand-in.Dockerfile -t bitshares/bitshares-core:7.0.2 deploy/node
FROM debian:bullseye-slim
LABEL org.opencontainers.image.title="stand-in for bitshares/bitshares-core (no witness_node)"
RUN groupadd -g 10001 bitshares \
    && useradd -u 10000 -g bitshares -d /var/lib/bitshares -m bitshares \
    && install -d -o 10000 -g 10001 /etc/bitshares
COPY stand-in-witness_node /usr/local/bin/witness_node
ENV HOME=/var/lib/bitshares
VOLUME ["/var/lib/bitshares", "/etc/bitshares"]
EXPOSE 8090 1776
STOPSIGNAL SIGINT
