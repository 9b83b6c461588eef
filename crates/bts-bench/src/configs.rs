//! The three proxies' configuration files, each written as a competent operator would for a
//! JSON-RPC API that serves both HTTP POST and WebSocket on one path, with access logs off.

use crate::dial::{BUNDLE_FILE, CERT_FILE, KEY_FILE};
use std::net::SocketAddr;
use std::path::Path;

/// What every proxy config needs to know.
pub(crate) struct Setup<'a> {
    /// Where the proxy listens.
    pub(crate) listen: SocketAddr,
    /// Where it terminates TLS with the bench certificate, if it does in this bench.
    pub(crate) tls: Option<SocketAddr>,
    /// The devnet node behind it.
    pub(crate) backend: SocketAddr,
    /// Cores on this machine (HAProxy threads).
    pub(crate) cores: usize,
    /// Client connections each proxy must hold at once (the idle test's plus headroom).
    pub(crate) max_connections: u64,
    /// The open-file limit the proxies inherit.
    pub(crate) nofile: u64,
    /// The scratch directory for nginx's pid and temp files.
    pub(crate) dir: &'a Path,
}

/// bts-gateway's `gateway.toml`: one network on `/`, the limits raised so the bench (one client
/// address) is never throttled; the cache stays on, as in production (the bench's calls are not
/// cacheable, see the README).
pub(crate) fn gateway_toml(s: &Setup<'_>, chain_id: &str) -> String {
    let conns = s.max_connections;
    let tls = s.tls.map_or(String::new(), |listen| {
        let dir = s.dir.display();
        format!(
            "\n[tls]\nlisten = \"{listen}\"\n\n[[tls.certificate]]\ncert = \"{dir}/{CERT_FILE}\"\nkey = \"{dir}/{KEY_FILE}\"\n"
        )
    });
    format!(
        r#"[server]
listen = "{listen}"

[limits]
requests-per-second-per-ip = 1000000
burst = 1000000
ws-connections-per-ip = {conns}
ws-connections-total = {conns}

[[network]]
name = "devnet"
chain-id = "{chain_id}"
paths = ["/"]
selection = "round-robin"

[[network.backend]]
url = "ws://{backend}/"
http-keep-alive = true
{tls}"#,
        listen = s.listen,
        backend = s.backend,
    )
}

/// `haproxy.cfg`: HTTP mode (so it parses requests and adds X-Forwarded-For, as the others
/// do), one thread per core, keep-alive and connection reuse to the backend, and a tunnel
/// timeout long enough for idle WebSockets. No `log` lines: no access log.
pub(crate) fn haproxy_cfg(s: &Setup<'_>) -> String {
    // TLS as HAProxy's documentation has it, with the same certificate as bts-gateway's; its
    // TLS 1.3 tickets and session cache are on by default.
    let tls = s.tls.map_or(String::new(), |listen| {
        format!(
            "\nfrontend api_tls\n    bind {listen} ssl crt {}/{BUNDLE_FILE} alpn http/1.1\n    default_backend nodes\n",
            s.dir.display()
        )
    });
    format!(
        r#"global
    nbthread {cores}
    maxconn {conns}

defaults
    mode http
    maxconn {conns}
    option forwardfor
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 60s
    timeout tunnel 1h

frontend api
    bind {listen}
    default_backend nodes
{tls}
backend nodes
    server node1 {backend}
"#,
        cores = s.cores,
        conns = s.max_connections,
        listen = s.listen,
        backend = s.backend,
    )
}

/// `nginx.conf`: one worker per core, keep-alive to the backend (64 idle connections, HTTP/1.1,
/// `Connection` cleared for plain requests) and the Upgrade/Connection map for WebSockets;
/// long keep-alive so nginx does not close client or upstream connections every 1,000 requests
/// (its default). Every writable path is in the scratch directory.
pub(crate) fn nginx_conf(s: &Setup<'_>) -> String {
    let dir = s.dir.display();
    // Each proxied connection takes two of a worker's connections (client and upstream).
    let worker_connections = s.max_connections * 2;
    format!(
        r#"worker_processes auto;
worker_rlimit_nofile {nofile};
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;

events {{
    worker_connections {worker_connections};
    multi_accept on;
}}

http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    keepalive_timeout 60s;
    keepalive_requests 1000000;
    tcp_nodelay on;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}

    upstream nodes {{
        server {backend};
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }}

    server {{
        listen {listen} backlog=4096;

        location / {{
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }}
    }}
}}
"#,
        nofile = (worker_connections + 1024).min(s.nofile),
        listen = s.listen,
        backend = s.backend,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(dir: &Path) -> Setup<'_> {
        Setup {
            listen: "127.0.0.1:9001".parse().expect("an address"),
            tls: Some("127.0.0.1:9443".parse().expect("an address")),
            backend: "127.0.0.1:9000".parse().expect("an address"),
            cores: 2,
            max_connections: 100_000,
            nofile: 1 << 20,
            dir,
        }
    }

    #[test]
    fn every_proxy_points_at_the_backend_and_keeps_logs_off() {
        let dir = Path::new("/tmp/x");
        let s = setup(dir);
        let gateway = gateway_toml(&s, "ab");
        assert!(gateway.contains("url = \"ws://127.0.0.1:9000/\""));
        assert!(gateway.contains("listen = \"127.0.0.1:9001\""));
        let haproxy = haproxy_cfg(&s);
        assert!(haproxy.contains("server node1 127.0.0.1:9000") && haproxy.contains("nbthread 2"));
        assert!(!haproxy.contains("log"));
        assert!(haproxy.contains("bind 127.0.0.1:9443 ssl crt /tmp/x/bench-bundle.pem alpn http/1.1"));
        assert!(
            gateway.contains("listen = \"127.0.0.1:9443\"") && gateway.contains("cert = \"/tmp/x/bench-cert.pem\"")
        );
        let nginx = nginx_conf(&s);
        assert!(nginx.contains("server 127.0.0.1:9000;") && nginx.contains("access_log off;"));
        assert!(nginx.contains("pid /tmp/x/nginx.pid;"));
    }
}
