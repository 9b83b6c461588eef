//! How the load clients reach a target: plain TCP, or TLS with the bench's own certificate, and
//! that certificate (one self-signed ECDSA P-256 pair that bts-gateway and HAProxy both serve).

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// The name in the bench certificate, and the SNI every TLS client sends.
const NAME: &str = "localhost";

/// Where a load client connects, and whether it speaks TLS there.
#[derive(Clone)]
pub(crate) struct Dialer {
    /// The target's address (its TLS listener for a TLS dialer).
    pub(crate) addr: SocketAddr,
    tls: Option<TlsConnector>,
}

impl Dialer {
    /// Plain TCP to `addr`.
    pub(crate) fn plain(addr: SocketAddr) -> Dialer {
        Dialer { addr, tls: None }
    }

    /// TLS to `addr`, trusting the bench certificate and resuming sessions as `config` says.
    pub(crate) fn tls(addr: SocketAddr, config: Arc<ClientConfig>) -> Dialer {
        Dialer {
            addr,
            tls: Some(TlsConnector::from(config)),
        }
    }

    /// `ws://` or `wss://`, for the WebSocket handshake's URL.
    pub(crate) fn ws_url(&self) -> String {
        match self.tls {
            Some(_) => format!("wss://{NAME}/"),
            None => format!("ws://{}/", self.addr),
        }
    }

    /// Connects (TCP_NODELAY) and, for TLS, completes the handshake.
    pub(crate) async fn connect(&self) -> io::Result<Stream> {
        let tcp = TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Stream::Plain(tcp)),
            Some(connector) => {
                let name = ServerName::try_from(NAME).map_err(io::Error::other)?;
                Ok(Stream::Tls(Box::new(connector.connect(name, tcp).await?)))
            }
        }
    }
}

/// A connected stream, plain or TLS.
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// Whether the TLS handshake resumed an earlier session (false for plain TCP).
    pub(crate) fn resumed(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(tls) => tls.get_ref().1.handshake_kind() == Some(tokio_rustls::rustls::HandshakeKind::Resumed),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The bench certificate: written for the servers, trusted by the clients.
pub(crate) struct Certificate {
    der: CertificateDer<'static>,
}

/// File names of the certificate in the scratch directory.
pub(crate) const CERT_FILE: &str = "bench-cert.pem";
/// Its private key.
pub(crate) const KEY_FILE: &str = "bench-key.pem";
/// Certificate and key in one file, as HAProxy's `crt` wants them.
pub(crate) const BUNDLE_FILE: &str = "bench-bundle.pem";

impl Certificate {
    /// Makes a self-signed ECDSA P-256 certificate for `localhost` and writes it to `dir`.
    pub(crate) fn write(dir: &Path) -> anyhow::Result<Certificate> {
        let key = rcgen::KeyPair::generate()?;
        let cert = rcgen::CertificateParams::new(vec![NAME.to_owned()])?.self_signed(&key)?;
        let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
        std::fs::write(dir.join(CERT_FILE), &cert_pem)?;
        std::fs::write(dir.join(KEY_FILE), &key_pem)?;
        std::fs::write(dir.join(BUNDLE_FILE), format!("{cert_pem}{key_pem}"))?;
        Ok(Certificate {
            der: cert.der().clone(),
        })
    }

    /// A client configuration trusting only this certificate, ALPN `http/1.1`; with `resume`,
    /// rustls's default in-memory session cache (TLS 1.3 tickets), else none (every handshake
    /// full). Each phase slice makes its own, so no ticket crosses from one target to another.
    pub(crate) fn client(&self, resume: bool) -> anyhow::Result<Arc<ClientConfig>> {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone())?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        if !resume {
            config.resumption = tokio_rustls::rustls::client::Resumption::disabled();
        }
        Ok(Arc::new(config))
    }
}
