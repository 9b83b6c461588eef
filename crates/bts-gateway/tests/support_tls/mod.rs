//! Shared by the TLS tests: a real ACME server (Debian's `pebble`, with `pebble-challtestsrv` as
//! its DNS), a gateway with all three listeners on port 0, and a TLS client that trusts a given
//! root and reports the certificate it was served.

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use bts_gateway::GatewayConfig;
use bts_gateway::Listeners;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A free loopback port (bound, then released for a child process to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A CA and a server certificate it signed, as PEM files in `dir`: `ca.pem`, `<name>.pem`,
/// `<name>.key`.
pub fn make_ca_and_cert(dir: &Path, names: &[&str], file: &str) -> PathBuf {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "bts-infra test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    issue(dir, &issuer, names, file);
    dir.join("ca.pem")
}

/// Issues another certificate from the CA made by [`make_ca_and_cert`].
pub fn issue(dir: &Path, issuer: &rcgen::Issuer<'_, rcgen::KeyPair>, names: &[&str], file: &str) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
}

/// A running pebble and its DNS server; killed on drop.
pub struct Pebble {
    pub dir: tempfile::TempDir,
    pub directory: String,
    /// pebble's own HTTPS root (for the ACME client).
    pub https_ca: PathBuf,
    /// The root pebble issues under (regenerated each start).
    pub root_pem: String,
    /// challtestsrv's management address (`/set-txt`).
    pub dns_management: String,
    children: Vec<Child>,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn require(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{program} is not installed: run scripts/setup-system (Debian package pebble)"
    );
}

impl Pebble {
    /// Starts challtestsrv (DNS only: every name is 127.0.0.1) and pebble validating HTTP-01 on
    /// `http_port` and TLS-ALPN-01 on `tls_port` for real (no sleeps, no nonce rejections so
    /// runs are quick; authorizations are not reused, so every order is validated).
    pub async fn start(http_port: u16, tls_port: u16) -> Pebble {
        Pebble::start_with_eab(http_port, tls_port, None).await
    }

    /// As [`Pebble::start`], requiring external account binding with this key id and base64url
    /// HMAC key when given.
    pub async fn start_with_eab(http_port: u16, tls_port: u16, eab: Option<(&str, &str)>) -> Pebble {
        require("pebble");
        require("pebble-challtestsrv");
        // Its four ports are picked free and released before pebble binds them, so a parallel
        // test can take one in between: a start that fails is retried on new ports.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Pebble::try_start(http_port, tls_port, eab).await {
                Ok(pebble) => return pebble,
                Err(logs) => failures.push(logs),
            }
        }
        panic!("pebble did not start in 3 attempts:\n{}", failures.join("\n---\n"));
    }

    async fn try_start(http_port: u16, tls_port: u16, eab: Option<(&str, &str)>) -> Result<Pebble, String> {
        let dir = tempfile::tempdir().unwrap();
        let https_ca = make_ca_and_cert(dir.path(), &["localhost"], "pebble");
        let (acme, management, dns, dns_management) = (free_port(), free_port(), free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.path().join("pebble.pem"),
            "privateKey": dir.path().join("pebble.key"),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": eab.is_some(),
            "externalAccountMACKeys": eab.map(|(kid, key)| serde_json::json!({kid: key})).unwrap_or(serde_json::json!({})),
        }});
        std::fs::write(dir.path().join("pebble.json"), config.to_string()).unwrap();
        let log = |name: &str| Stdio::from(std::fs::File::create(dir.path().join(name)).unwrap());
        let challtestsrv = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-management", &format!("127.0.0.1:{dns_management}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(log("challtestsrv.log"))
            .stderr(log("challtestsrv.err"))
            .spawn()
            .unwrap();
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(dir.path().join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns}"), "-strict"])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(log("pebble.log"))
            .stderr(log("pebble.err"))
            .spawn()
            .unwrap();
        let mut this = Pebble {
            directory: format!("https://localhost:{acme}/dir"),
            https_ca,
            root_pem: String::new(),
            dns_management: format!("127.0.0.1:{dns_management}"),
            children: vec![challtestsrv, pebble],
            dir,
        };
        let ca = std::fs::read_to_string(&this.https_ca).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let addr: SocketAddr = format!("127.0.0.1:{management}").parse().unwrap();
            if let Ok(answer) = https_get(addr, "localhost", &ca, "/roots/0").await
                && answer.status == 200
                && answer.body.contains("BEGIN CERTIFICATE")
            {
                this.root_pem = answer.body;
                return Ok(this);
            }
            if Instant::now() > deadline {
                let log = |name: &str| std::fs::read_to_string(this.dir.path().join(name)).unwrap_or_default();
                return Err(format!(
                    "pebble: {}\nchalltestsrv: {}",
                    log("pebble.err"),
                    log("challtestsrv.err")
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A DNS hook script for the gateway that publishes TXT records in challtestsrv. If
    /// `fail_first` is true, its first `set` fails (as a provider's API might).
    pub fn dns_hook(&self, fail_first: bool) -> PathBuf {
        let path = self.dir.path().join("dns-hook");
        let marker = self.dir.path().join("dns-hook-failed-once");
        let fail = if fail_first {
            format!(
                "if [ \"$1\" = set ] && [ ! -e {m} ]; then touch {m}; echo 'provider API: 503 try later' >&2; exit 1; fi\n",
                m = marker.display()
            )
        } else {
            String::new()
        };
        let script = format!(
            "#!/bin/sh\nset -e\n{fail}\
             case \"$1\" in\n\
               set) curl -sf -X POST -d \"{{\\\"host\\\":\\\"$2.\\\",\\\"value\\\":\\\"$3\\\"}}\" http://{m}/set-txt ;;\n\
               clear) curl -sf -X POST -d \"{{\\\"host\\\":\\\"$2.\\\"}}\" http://{m}/clear-txt ;;\n\
             esac\n",
            m = self.dns_management
        );
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

/// A gateway with plain, TLS and redirect listeners on port 0.
pub struct TlsGateway {
    pub plain: SocketAddr,
    pub tls: SocketAddr,
    pub redirect: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Binds the three listeners (so their ports can go into pebble's configuration first).
pub async fn bind_three() -> Listeners {
    let bind = || async { Some(TcpListener::bind("127.0.0.1:0").await.unwrap()) };
    Listeners {
        plain: bind().await,
        tls: bind().await,
        redirect: bind().await,
    }
}

/// The port of a bound listener.
pub fn port(l: &Option<TcpListener>) -> u16 {
    l.as_ref().unwrap().local_addr().unwrap().port()
}

impl TlsGateway {
    /// Runs a gateway with `config` on `listeners`.
    pub fn start(listeners: Listeners, config: GatewayConfig) -> TlsGateway {
        let addr = |l: &Option<TcpListener>| l.as_ref().unwrap().local_addr().unwrap();
        let (plain, tls, redirect) = (addr(&listeners.plain), addr(&listeners.tls), addr(&listeners.redirect));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            bts_gateway::run(listeners, &config, None, None, shutdown)
                .await
                .unwrap();
        });
        TlsGateway {
            plain,
            tls,
            redirect,
            stop: Some(stop),
            task,
        }
    }

    /// `/status.json` from the plain listener.
    pub async fn status(&self) -> serde_json::Value {
        let (_, body) = plain_request(
            self.plain,
            "GET /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
    }

    /// Waits until the first certificate is served with a serial other than `not`, and returns
    /// it; fails with the status if it does not happen in time.
    pub async fn wait_serving(&self, not: Option<&str>) -> serde_json::Value {
        let serving = |c: &serde_json::Value| c["serving"] == true && c["serial"].as_str() != not;
        self.wait_certificate(Duration::from_secs(90), serving).await
    }

    /// Waits up to `within` until the first certificate's status satisfies `done`, and returns
    /// it; fails with the whole status if it does not happen in time.
    pub async fn wait_certificate(
        &self,
        within: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let status = self.status().await;
            let cert = &status["certificates"][0];
            if done(cert) {
                return cert.clone();
            }
            assert!(Instant::now() < deadline, "not in time: {status:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the gateway and waits until it has drained.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap();
    }
}

/// Sends a raw request on a plain connection; returns the status and the whole answer text.
pub async fn plain_request(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}

/// Sends one JSON-RPC call on a WebSocket and returns the next message as text.
pub async fn ws_call<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>, call: &str) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::{SinkExt, StreamExt};
    let message = tokio_tungstenite::tungstenite::Message::text(call);
    ws.send(message).await.unwrap();
    ws.next().await.unwrap().unwrap().into_text().unwrap().to_string()
}

/// A rustls client trusting only `root_pem`.
pub fn client_config(root_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Connects with TLS to `addr` for `server_name`, verifying the chain against `root_pem`.
pub async fn tls_connect(addr: SocketAddr, server_name: &str, root_pem: &str) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    TlsConnector::from(client_config(root_pem)).connect(name, tcp).await
}

/// An HTTPS answer and the serial of the certificate that was served.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
    pub serial: String,
}

/// One HTTPS request over a fresh, verified connection.
pub async fn https_request(
    addr: SocketAddr,
    server_name: &str,
    root_pem: &str,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<Answer> {
    let mut tls = tls_connect(addr, server_name, root_pem).await?;
    let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let serial = bts_tls::pem::info(&leaf).unwrap().serial;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {server_name}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    // A peer that closes without close_notify is fine for a Connection: close answer.
    let _ = tls.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Ok(Answer {
        status: head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0),
        head: head.to_owned(),
        body: body.to_owned(),
        serial,
    })
}

/// `GET path` over HTTPS.
pub async fn https_get(addr: SocketAddr, server_name: &str, root_pem: &str, path: &str) -> std::io::Result<Answer> {
    https_request(addr, server_name, root_pem, "GET", path, "").await
}
