//! Waiting for Elasticsearch before witness_node starts (IO edge). witness_node checks
//! `GET <url>/_nodes` once during start-up and exits at once, without retrying, when it gets no
//! answer ("ES database is not up"); in a compose file or a pod, ES is often still starting.

use crate::spec::EsUrl;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// How long one attempt may take.
const ATTEMPT: Duration = Duration::from_secs(5);

/// Waits until `url` answers `GET _nodes` with a 2xx status, trying for at most `wait` (at least
/// one attempt). Returns the last reason when it gives up. For `https://` only a TCP connection
/// is checked (the launcher has no TLS client).
pub async fn wait_until_up(url: &EsUrl, wait: Duration) -> Result<(), String> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(200);
    loop {
        let reason = match timeout(ATTEMPT, check(url)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(reason)) => reason,
            Err(_) => format!("no answer within {}s", ATTEMPT.as_secs()),
        };
        if Instant::now() + pause > deadline {
            return Err(reason);
        }
        tracing::info!(target: "bts_node::es", url = url.as_str(), %reason, "waiting for Elasticsearch");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

async fn check(url: &EsUrl) -> Result<(), String> {
    let (tls, rest) = match url.as_str().strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, url.as_str().trim_start_matches("http://")),
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let target = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    let mut stream = TcpStream::connect(&target)
        .await
        .map_err(|e| format!("cannot connect to {target}: {e}"))?;
    if tls {
        return Ok(());
    }
    let request = format!("GET /{path}_nodes HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).await.map_err(|e| e.to_string())?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("none");
    if status.starts_with('2') {
        Ok(())
    } else {
        Err(format!("GET /{path}_nodes answered status {status}"))
    }
}
