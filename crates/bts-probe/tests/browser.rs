//! The status page in a real browser (Debian's `chromium`, headless, no JavaScript needed): a
//! prober over a healthy node, a frozen one, nothing listening, the real gateway with a
//! certificate near expiry and the real faucet. The DOM Chromium builds has every part, and a
//! screenshot is kept in target/artifacts/ (CI keeps that directory).

mod support;

use bts_probe::{ProbeConfig, RawConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Gateway, certificates, dead_addr, devnet, faucet, freeze, start, until};

/// Chromium, or a failure saying how to get it.
fn chromium() -> &'static str {
    let found = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "chromium is missing: scripts/setup-system installs it (apt-get install chromium)"
    );
    "chromium"
}

fn headless(profile: &Path) -> Command {
    let mut command = Command::new(chromium());
    // No sandbox: tests may run as root in a container, where Chromium's sandbox cannot start.
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/artifacts");
    std::fs::create_dir_all(&dir).expect("target/artifacts");
    dir
}

#[tokio::test]
async fn chromium_renders_the_status_page_with_every_part() {
    let net = devnet(2).await;
    let dir = tempfile::tempdir().expect("dir");
    let ca = certificates(dir.path(), 5);
    let gateway = Gateway::start(&net, dir.path()).await;
    let (faucet_url, stop_faucet) = faucet(&net, &dir.path().join("faucet.sqlite")).await;
    let chain = net.network().config().chain_id;
    let dead = dead_addr().await;
    let text = format!(
        "region = \"us\"\ntitle = \"BitShares public API status\"\ninterval = \"1s\"\ntimeout = \"900ms\"\n\
         database-url = \"sqlite://{db}\"\nca-file = \"{ca}\"\n\
         [[endpoint]]\nname = \"api\"\nnetwork = \"mainnet\"\nws = \"wss://localhost:{tls}/\"\nhttp = \"https://localhost:{tls}/\"\nchain-id = \"{chain}\"\n\
         [[endpoint]]\nname = \"frozen-node\"\nnetwork = \"mainnet\"\nws = \"{frozen}\"\nchain-id = \"{chain}\"\nmax-head-age = \"3s\"\n\
         [[endpoint]]\nname = \"old-node\"\nnetwork = \"mainnet\"\nws = \"ws://{dead}/\"\nchain-id = \"{chain}\"\n\
         [[faucet]]\nname = \"faucet\"\nnetwork = \"mainnet\"\nurl = \"{faucet_url}\"\n",
        db = dir.path().join("probe.sqlite").display(),
        ca = ca.display(),
        tls = gateway.tls.port(),
        frozen = net.nodes()[1].ws_url(),
    );
    let config = ProbeConfig::build(RawConfig::parse(&text).expect("toml")).expect("config");
    freeze(&net, 1, true);
    let mut prober = start(config).await;
    until("an incident for each failing endpoint", || {
        let p = &prober;
        async move {
            let status = p.status().await;
            let incidents = status["incidents"].as_array().cloned().unwrap_or_default();
            incidents.len() == 2
        }
    })
    .await;
    prober.after_rounds(1).await;

    let profile = tempfile::tempdir().expect("profile");
    let url = format!("{}/", prober.url);
    let out = tokio::task::spawn_blocking({
        let mut command = headless(profile.path());
        command.args(["--dump-dom", &url]);
        move || command.output().expect("chromium runs")
    })
    .await
    .expect("joined");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = |needle: &str| dom.matches(needle).count();
    assert!(dom.contains("id=\"state\" class=\"banner down\""), "{dom}");
    assert_eq!(count("<section class=\"card endpoint\""), 4);
    assert!(
        dom.contains("data-name=\"api\" data-state=\"degraded\""),
        "the certificate warns"
    );
    assert!(dom.contains("data-check=\"tls\" data-error=\"cert_expiring\""));
    assert!(dom.contains("data-check=\"ws\" data-error=\"stale_head\""));
    assert!(dom.contains("data-check=\"ws\" data-error=\"connect\""));
    assert!(dom.contains("data-check=\"faucet\" data-error=\"\""));
    assert_eq!(
        count("<svg class=\"bars\""),
        4,
        "one row of bars per endpoint and region"
    );
    assert_eq!(count("<rect x="), 4 * 90, "90 days each");
    assert_eq!(count("<svg class=\"plot\""), 4);
    assert_eq!(count("<tr class=\"incident\""), 2);
    assert!(dom.contains("id=\"faucet-faucet\"") && dom.contains("registrations the balance still pays for"));

    // The whole page, and its first screen (what a visitor sees at a glance).
    for (file, size) in [("status-page.png", "1100,2400"), ("status-page-top.png", "1100,1000")] {
        let shot = artifacts().join(file);
        let _ = std::fs::remove_file(&shot);
        let out = tokio::task::spawn_blocking({
            let mut command = headless(profile.path());
            command.args([
                &format!("--window-size={size}"),
                &format!("--screenshot={}", shot.display()),
                &url,
            ]);
            move || command.output().expect("chromium runs")
        })
        .await
        .expect("joined");
        assert!(
            out.status.success(),
            "chromium: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let png = std::fs::read(&shot).expect("the screenshot");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "{} bytes", png.len());
        eprintln!("screenshot: {}", shot.display());
    }

    prober.stop().await;
    let _ = stop_faucet.send(());
    gateway.stop().await;
    net.shutdown().await;
}
