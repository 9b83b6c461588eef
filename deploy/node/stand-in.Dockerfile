# A local stand-in for bitshares/bitshares-core, for machines that cannot pull it (our CI): the
# official image's layout (user bitshares 10000, group 10001, HOME and volumes /var/lib/bitshares
# and /etc/bitshares, ports 8090 and 1776) on Debian, WITHOUT witness_node. A node image built on
# it runs only the devnet engine (BTS_NODE_ENGINE=devnet); docs/node.md says what that proves.
#   docker build -f deploy/node/stand-in.Dockerfile -t bitshares/bitshares-core:7.0.2 deploy/node
FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="stand-in for bitshares/bitshares-core (no witness_node)"
RUN groupadd -g 10001 bitshares \
    && useradd -u 10000 -g bitshares -d /var/lib/bitshares -m bitshares \
    && install -d -o 10000 -g 10001 /etc/bitshares
ENV HOME=/var/lib/bitshares
VOLUME ["/var/lib/bitshares", "/etc/bitshares"]
EXPOSE 8090 1776
STOPSIGNAL SIGINT
