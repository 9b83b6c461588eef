//! `bts-infra healthcheck URL`: exit 0 when an HTTP URL answers 2xx in time. The services image's
//! HEALTHCHECK uses it, so the image needs no curl or wget (and no shell).

use crate::error::InputError;
use clap::Args;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Arguments of `bts-infra healthcheck`.
#[derive(Args)]
pub(crate) struct HealthcheckArgs {
    /// The URL to GET (http:// only: the health endpoints are on the plain listeners)
    #[arg(value_name = "URL", default_value = "http://127.0.0.1:8080/health")]
    url: String,
    /// How long the whole check may take
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print the answer's body instead of a line (`bts-infra fleet status` reads a gateway's
    /// /status.json this way, inside its container)
    #[arg(long)]
    print_body: bool,
    /// The request method: POST for a gateway's admin actions from inside its container (the
    /// fleet cordons a backend so)
    #[arg(long, value_name = "METHOD", default_value = "GET", value_parser = ["GET", "POST"])]
    method: String,
}

impl HealthcheckArgs {
    /// Checks the URL; the error says what answered instead (exit 1).
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let (host, path) = split(&self.url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
        let (status, body) = runtime
            .block_on(async {
                tokio::time::timeout(self.timeout, request(&self.method, &host, &path, self.print_body)).await
            })
            .map_err(|_| anyhow::anyhow!("{}: no answer within {:?}", self.url, self.timeout))?
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.url))?;
        if (200..300).contains(&status) {
            match body {
                Some(body) => println!("{body}"),
                None => println!("healthy: {} answered {status}", self.url),
            }
            Ok(())
        } else {
            Err(anyhow::anyhow!("unhealthy: {} answered {status}", self.url))
        }
    }
}

/// `http://HOST[:PORT]/PATH` into the address and the path.
fn split(url: &str) -> Result<(String, String), InputError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| InputError::new(format!("{url}: give an http:// URL")))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    let path = if path.is_empty() { "/" } else { path };
    Ok((host, path.to_owned()))
}

/// One HTTP/1.1 request without a body; the answer's status code and, with `body`, the whole
/// body (the server closes the connection after it: `Connection: close`).
async fn request(method: &str, host: &str, path: &str, body: bool) -> std::io::Result<(u16, Option<String>)> {
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\nUser-Agent: bts-infra healthcheck\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    if body {
        stream.read_to_end(&mut answer).await?;
    } else {
        // The status line is all that is needed: "HTTP/1.1 200 ...".
        let mut head = [0u8; 64];
        while answer.len() < 12 {
            let n = stream.read(&mut head).await?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&head[..n]);
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::other(format!(
                "not an HTTP answer: {:?}",
                text.chars().take(64).collect::<String>()
            ))
        })?;
    let body = body.then(|| text.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_owned()));
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_and_path() {
        assert_eq!(
            split("http://127.0.0.1:8080/health").unwrap(),
            ("127.0.0.1:8080".into(), "/health".into())
        );
        assert_eq!(split("http://gateway").unwrap(), ("gateway:80".into(), "/".into()));
        assert!(split("https://x/").is_err());
    }
}
