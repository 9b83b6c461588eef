//! The gateway obtains and renews its certificates from a real ACME server (Debian's pebble,
//! validating for real: pebble connects to the gateway's TLS and HTTP listeners, and looks up
//! DNS-01 records in challtestsrv, which the gateway's DNS hook writes with curl).

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_proxy;
mod support_tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use support_proxy::{config_for, devnet};
use support_tls::{Pebble, TlsGateway, bind_three, https_request, port, tls_connect};

const NAME: &str = "gw.example.test";

fn acme_toml(pebble: &Pebble, state: &std::path::Path, extra: &str) -> String {
    format!(
        "[tls]\nhsts = \"365d\"\n[tls.acme]\ndirectory = \"{}\"\ndirectory-ca = \"{}\"\n\
         contact = [\"mailto:ops@example.test\"]\nstate-dir = \"{}\"\ndns-wait = \"0s\"\n{extra}",
        pebble.directory,
        pebble.https_ca.display(),
        state.display()
    )
}

/// The devnet network plus the `[tls]` text, as one validated configuration.
fn config(devnet: &bts_devnet::Devnet, tls_toml: &str) -> bts_gateway::GatewayConfig {
    let mut base = config_for(devnet);
    // The renewal test sends as fast as it can from one address; the rate limit is not under test.
    base.limits.requests_per_second_per_ip = 0;
    let parsed = bts_gateway::GatewayConfig::from_toml(
        &format!(
            "{tls_toml}\n[[network]]\nname = \"mainnet\"\nchain-id = \"{}\"\n[[network.backend]]\nurl = \"{}\"\n",
            devnet.network().config().chain_id,
            devnet.nodes()[0].ws_url()
        ),
        "<test>",
    )
    .unwrap();
    bts_gateway::GatewayConfig {
        tls: parsed.tls,
        ..base
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn_01_certificate_serves_wss_and_renews_without_dropping_requests() {
    let devnet = devnet(1).await;
    let listeners = bind_three().await;
    let pebble = Pebble::start(port(&listeners.redirect), port(&listeners.tls)).await;
    let state = tempfile::tempdir().unwrap();
    let toml = acme_toml(
        &pebble,
        state.path(),
        &format!("domains = [\"{NAME}\"]\nchallenge = \"tls-alpn-01\"\n"),
    );
    let gw = TlsGateway::start(listeners, config(&devnet, &toml));
    let first = gw.wait_serving(None).await;
    assert_eq!(first["source"], "acme");
    assert!(first["last_error"].is_null(), "{first}");

    // The served chain verifies against pebble's root, for the name.
    let call = r#"{"id":1,"method":"call","params":[0,"get_chain_id",[]]}"#;
    let answer = https_request(gw.tls, NAME, &pebble.root_pem, "POST", "/", call)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.head);
    assert!(answer.body.contains(&devnet.network().config().chain_id.to_string()));
    assert_eq!(Some(answer.serial.as_str()), first["serial"].as_str());
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000")
    );
    // ... and not against another root.
    let other = support_tls::make_ca_and_cert(state.path(), &["x.example.test"], "other");
    let other_root = std::fs::read_to_string(other).unwrap();
    assert!(tls_connect(gw.tls, NAME, &other_root).await.is_err());

    // WSS: a Rust WebSocket client over the verified TLS stream reaches the devnet.
    let tls = tls_connect(gw.tls, NAME, &pebble.root_pem).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://{NAME}/ws"), tls)
        .await
        .unwrap();
    let reply = support_tls::ws_call(&mut ws, call).await;
    assert!(
        reply.contains(&devnet.network().config().chain_id.to_string()),
        "{reply}"
    );

    // Renewal while clients keep coming: every request is answered, and new connections get the
    // new certificate; the open WebSocket stays up.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (stop, ok, failed, root, addr) = (
            stop.clone(),
            ok.clone(),
            failed.clone(),
            pebble.root_pem.clone(),
            gw.tls,
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match https_request(addr, NAME, &root, "POST", "/", call).await {
                    Ok(a) if a.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    other => {
                        if failed.load(Ordering::Relaxed) < 3 {
                            eprintln!("failed: {:?}", other.map(|a| a.head));
                        }
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        })
    };
    let (status, body) = support_tls::plain_request(
        gw.plain,
        "POST /admin/certificates/renew HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let second = gw.wait_serving(first["serial"].as_str()).await;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("during renewal: {ok} requests answered, {failed} failed");
    assert!(ok > 0);
    assert_eq!(failed, 0);
    let answer = https_request(gw.tls, NAME, &pebble.root_pem, "POST", "/", call)
        .await
        .unwrap();
    assert_eq!(Some(answer.serial.as_str()), second["serial"].as_str());
    assert!(support_tls::ws_call(&mut ws, call).await.contains("result"));

    // The account and certificate are kept privately, and metrics show the expiry.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(state.path()), 0o700);
    assert_eq!(mode(&state.path().join(NAME).join("key.pem")), 0o600);
    let (_, metrics) = support_tls::plain_request(
        gw.plain,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        metrics.contains(&format!(
            "bts_gateway_tls_certificate_expiry_timestamp_seconds{{certificate=\"{NAME}\"}}"
        )),
        "{metrics}"
    );
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_01_for_a_name_and_dns_01_for_a_wildcard_with_a_redirect_listener() {
    let devnet = devnet(1).await;
    let listeners = bind_three().await;
    let pebble = Pebble::start(port(&listeners.redirect), port(&listeners.tls)).await;
    let state = tempfile::tempdir().unwrap();
    let hook = pebble.dns_hook(false);
    let toml = acme_toml(
        &pebble,
        state.path(),
        &format!(
            "domains = [\"{NAME}\", \"*.wild.example.test\"]\nchallenge = \"http-01\"\ndns-hook = \"{}\"\n",
            hook.display()
        ),
    );
    let toml = toml.replace("[tls]\n", "[tls]\nredirect-listen = \"127.0.0.1:0\"\n");
    let gw = TlsGateway::start(listeners, config(&devnet, &toml));
    let cert = gw.wait_serving(None).await;
    assert_eq!(cert["domains"], serde_json::json!([NAME, "*.wild.example.test"]));
    for name in [NAME, "api.wild.example.test"] {
        let answer = https_request(gw.tls, name, &pebble.root_pem, "GET", "/health", "")
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{name}: {}", answer.head);
    }
    // The HTTP listener sends everything else to HTTPS, keeping the path.
    let (status, _) = support_tls::plain_request(
        gw.redirect,
        &format!("GET /ws?x=1 HTTP/1.1\r\nHost: {NAME}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 308);
    let mut s = tokio::net::TcpStream::connect(gw.redirect).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(format!("GET /ws?x=1 HTTP/1.1\r\nHost: {NAME}:80\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = String::new();
    let _ = s.read_to_string(&mut head).await;
    let location = format!("location: https://{NAME}:{}/ws?x=1", gw.tls.port());
    assert!(head.to_ascii_lowercase().contains(&location), "{head}");
    gw.shutdown().await;

    // A restart serves the stored certificate at once, with the stored account: no new order.
    let accounts = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("account-")
            })
            .count()
    };
    assert_eq!(accounts(state.path()), 1);
    let gw = TlsGateway::start(bind_three().await, config(&devnet, &toml));
    let again = gw.wait_serving(None).await;
    assert_eq!(again["serial"], cert["serial"], "{again}");
    let answer = https_request(gw.tls, NAME, &pebble.root_pem, "GET", "/health", "")
        .await
        .unwrap();
    assert_eq!(Some(answer.serial.as_str()), cert["serial"].as_str());
    assert_eq!(accounts(state.path()), 1);
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_challenge_is_reported_and_retried() {
    let devnet = devnet(1).await;
    let listeners = bind_three().await;
    let pebble = Pebble::start(port(&listeners.redirect), port(&listeners.tls)).await;
    let state = tempfile::tempdir().unwrap();
    let hook = pebble.dns_hook(true);
    let toml = acme_toml(
        &pebble,
        state.path(),
        &format!(
            "domains = [\"*.example.test\"]\nchallenge = \"dns-01\"\ndns-hook = \"{}\"\nretry-initial = \"1s\"\n",
            hook.display()
        ),
    );
    let gw = TlsGateway::start(listeners, config(&devnet, &toml));
    // The first attempt fails in the hook: reported on the status page, the gateway serves on.
    let failure = gw
        .wait_certificate(std::time::Duration::from_secs(60), |c| {
            c["failures"].as_u64().unwrap_or(0) > 0 || c["serving"] == true
        })
        .await;
    let error = failure["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("provider API: 503 try later"), "{failure}");
    assert!(failure["next_attempt"].is_string());
    // Then the retry gets the certificate, and the error is cleared.
    let cert = gw.wait_serving(None).await;
    assert!(cert["last_error"].is_null(), "{cert}");
    let answer = https_request(gw.tls, "api.example.test", &pebble.root_pem, "GET", "/health", "")
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_the_ca_cannot_verify_is_reported_in_the_cas_words() {
    let devnet = devnet(1).await;
    let listeners = bind_three().await;
    // pebble validates TLS-ALPN-01 on a port where nobody listens.
    let pebble = Pebble::start(port(&listeners.redirect), support_tls::free_port()).await;
    let state = tempfile::tempdir().unwrap();
    let toml = acme_toml(
        &pebble,
        state.path(),
        &format!("domains = [\"{NAME}\"]\nretry-initial = \"1h\"\n"),
    );
    let gw = TlsGateway::start(listeners, config(&devnet, &toml));
    let cert = gw
        .wait_certificate(std::time::Duration::from_secs(60), |c| {
            c["failures"].as_u64().unwrap_or(0) > 0
        })
        .await;
    let error = cert["last_error"].as_str().unwrap();
    eprintln!("reported: {error}");
    assert!(error.starts_with("validation failed"), "{error}");
    assert!(
        error.contains(&format!("{NAME}: ")),
        "the CA's reason for the name: {error}"
    );
    assert_eq!(cert["serving"], false);
    // The gateway itself is fine: the plain listener serves the API.
    let call = r#"{"id":1,"method":"call","params":[0,"get_chain_id",[]]}"#;
    let (status, body) = support_proxy::post(gw.plain, "/", call).await;
    assert_eq!(status, 200, "{body}");
    gw.shutdown().await;
    devnet.shutdown().await;
}
