//! A fresh connection per check, as a wallet opening the page makes one: TCP, then TLS for
//! `wss://` and `https://` with the system's roots (plus `ca-file`), verifying the name as any
//! browser does. The served certificate's expiry is read from the handshake.

use super::{ErrorKind, Failure};
use hyper::Uri;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The TLS client every check uses.
#[derive(Clone)]
pub struct Tls(tokio_rustls::TlsConnector);

impl Tls {
    /// Trusts the system's roots and, when given, the PEM certificates in `ca_file`.
    pub fn new(ca_file: Option<&Path>) -> Result<Tls, String> {
        let mut roots = rustls::RootCertStore::empty();
        // A system without a bundle still works with `ca-file` alone.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = ca_file {
            let pem = std::fs::read(path).map_err(|e| format!("ca-file {}: {e}", path.display()))?;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("ca-file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("ca-file {}: no certificate in it", path.display()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("ca-file {}: {e}", path.display()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls(tokio_rustls::TlsConnector::from(Arc::new(config))))
    }
}

/// An open connection and what its handshake showed.
pub struct Connection {
    /// The stream.
    pub io: Box<dyn Io>,
    /// The served certificate's expiry (TLS only).
    pub cert_expiry: Option<SystemTime>,
    /// When the connection was started: checks are timed from here.
    pub started: Instant,
    /// Whether TLS is used.
    pub tls: bool,
}

/// A failed exchange: the failure, and what the TLS handshake showed before it.
pub struct DialError {
    /// What failed.
    pub failure: Failure,
    /// `Some(false)` when TCP connected and the TLS handshake failed, `Some(true)` when the
    /// handshake completed and something after it failed.
    pub tls_handshake: Option<bool>,
    /// The served certificate's expiry, when the handshake completed.
    pub cert_expiry: Option<SystemTime>,
}

impl Connection {
    /// A failure after this connection was made: the handshake's findings stay.
    pub fn error(&self, failure: Failure) -> DialError {
        DialError {
            failure,
            tls_handshake: self.tls.then_some(true),
            cert_expiry: self.cert_expiry,
        }
    }
}

/// The parts of an address a check needs.
pub struct Target {
    /// Host as written (no brackets).
    pub host: String,
    /// Port (the scheme's default when absent).
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
    /// `Host` header value.
    pub authority: String,
    /// Whether TLS is used.
    pub tls: bool,
}

impl Target {
    /// Parses `url` (validated by the configuration: a known scheme).
    pub fn parse(url: &str) -> Result<Target, Failure> {
        let bad = || Failure::new(ErrorKind::Connect, format!("{url}: not a valid address"));
        let uri: Uri = url.parse().map_err(|_| bad())?;
        let tls = matches!(uri.scheme_str(), Some("wss" | "https"));
        let host = uri.host().ok_or_else(bad)?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let authority = uri.authority().ok_or_else(bad)?.to_string();
        let path = uri.path_and_query().map_or("/".to_owned(), |p| p.as_str().to_owned());
        let path = if path.is_empty() { "/".to_owned() } else { path };
        Ok(Target {
            host,
            port,
            path,
            authority,
            tls,
        })
    }
}

/// Connects to `target`, with TLS when its scheme asks for it. A name with several addresses is
/// tried address by address, each but the last with an equal share of `budget` (at least 250 ms),
/// as browsers move on from an unreachable IPv6 address to IPv4.
pub async fn connect(tls: &Tls, target: &Target, budget: Duration) -> Result<Connection, DialError> {
    let started = Instant::now();
    let failed = |e: std::io::Error| DialError {
        failure: Failure::new(ErrorKind::Connect, format!("{}:{}: {e}", target.host, target.port)),
        tls_handshake: None,
        cert_expiry: None,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(failed)?
        .collect();
    let share = (budget / u32::try_from(addrs.len()).unwrap_or(1).max(1)).max(Duration::from_millis(250));
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "the name has no address");
    let mut connected = None;
    for (i, addr) in addrs.iter().enumerate() {
        let attempt = TcpStream::connect(addr);
        let result = if i + 1 < addrs.len() {
            tokio::time::timeout(share, attempt).await.unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{addr}: no answer"),
                ))
            })
        } else {
            attempt.await
        };
        match result {
            Ok(stream) => {
                connected = Some(stream);
                break;
            }
            Err(e) => last = e,
        }
    }
    let tcp = connected.ok_or_else(|| failed(last))?;
    let _ = tcp.set_nodelay(true);
    if !target.tls {
        return Ok(Connection {
            io: Box::new(tcp),
            cert_expiry: None,
            started,
            tls: false,
        });
    }
    let failed = |detail: String| DialError {
        failure: Failure::new(ErrorKind::Tls, detail),
        tls_handshake: Some(false),
        cert_expiry: None,
    };
    let name = ServerName::try_from(target.host.clone()).map_err(|e| failed(format!("{}: {e}", target.host)))?;
    let stream = (tls.0)
        .connect(name, tcp)
        .await
        .map_err(|e| failed(format!("TLS handshake with {}: {e}", target.host)))?;
    let cert_expiry = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| bts_tls::pem::info(leaf).ok())
        .map(|info| info.not_after);
    Ok(Connection {
        io: Box::new(stream),
        cert_expiry,
        started,
        tls: true,
    })
}
