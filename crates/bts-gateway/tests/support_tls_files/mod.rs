//! A gateway serving TLS from certificate files, for the TLS tests of this crate (it needs both
//! `support_proxy` and `support_tls` beside it, which bts-infra's tests do not have).

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use std::time::Duration;

/// A CA, a certificate for 127.0.0.1 and localhost, and a gateway serving it from files.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub ca: String,
    pub gw: crate::support_tls::TlsGateway,
    pub devnet: bts_devnet::Devnet,
}

/// `extra` is added to the configuration after the certificate (more `[tls]` keys, routes).
pub async fn setup(extra: &str) -> Setup {
    setup_with(extra, |_| {}).await
}

/// [`setup`], with `adjust` changing the configuration before the gateway starts.
pub async fn setup_with(extra: &str, adjust: impl FnOnce(&mut bts_gateway::GatewayConfig)) -> Setup {
    let devnet = crate::support_proxy::devnet(1).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = crate::support_tls::make_ca_and_cert(dir.path(), &["127.0.0.1", "localhost"], "server");
    let toml = format!(
        "[tls]\nreload-interval = \"100ms\"\n[[tls.certificate]]\ncert = \"{0}/server.pem\"\nkey = \"{0}/server.key\"\n{extra}\n\
         [[network]]\nname = \"mainnet\"\nchain-id = \"{1}\"\n[[network.backend]]\nurl = \"{2}\"\n",
        dir.path().display(),
        devnet.network().config().chain_id,
        devnet.nodes()[0].ws_url()
    );
    let parsed = bts_gateway::GatewayConfig::from_toml(&toml, "<test>").unwrap();
    let mut config = crate::support_proxy::config_for(&devnet);
    config.tls = parsed.tls;
    config.http_routes = parsed.http_routes;
    adjust(&mut config);
    let gw = crate::support_tls::TlsGateway::start(crate::support_tls::bind_three().await, config);
    let ca = std::fs::read_to_string(ca).unwrap();
    // Ready when the first health check admitted the node.
    let call = r#"{"id":1,"method":"call","params":[0,"get_chain_id",[]]}"#;
    while !crate::support_proxy::post(gw.plain, "/", call)
        .await
        .1
        .contains("result")
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Setup { dir, ca, gw, devnet }
}

/// `openssl s_client` (Debian's, installed by scripts/setup-system) for the gateway's TLS listener
/// on `port`, with SNI `localhost`; add arguments and run it.
pub fn s_client(port: u16) -> std::process::Command {
    let mut command = std::process::Command::new("openssl");
    command.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-servername",
        "localhost",
    ]);
    command
}
