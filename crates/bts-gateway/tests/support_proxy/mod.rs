//! Shared by the data-plane tests: a devnet network on port 0, a gateway in front of it, raw
//! HTTP and WebSocket helpers.

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_gateway::config::{GatewayConfig, NetworkConfig};
use bts_protocol::Prefix;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// A devnet of `nodes` nodes with one-second blocks, its clock at now, the admin API on.
pub async fn devnet(nodes: usize) -> Devnet {
    let config = config_now(Prefix::BTS);
    Devnet::start_local("test", config, nodes, ServerConfig::admin())
        .await
        .unwrap()
}

/// A running gateway.
pub struct TestGateway {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestGateway {
    /// `ws://ADDR/`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// `http://ADDR/`.
    pub fn http_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops the gateway and waits until it has drained.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap();
    }
}

/// The configuration of a gateway for `devnet` (one network, `mainnet`, all its nodes), with
/// quick health checks for tests.
pub fn config_for(devnet: &Devnet) -> GatewayConfig {
    let urls: Vec<String> = devnet.nodes().iter().map(|n| n.ws_url()).collect();
    let network = NetworkConfig::new("mainnet", devnet.network().config().chain_id, &urls).unwrap();
    let mut config = GatewayConfig::with_networks(vec![network]).unwrap();
    config.health.interval = Duration::from_millis(300);
    config.health.timeout = Duration::from_millis(600);
    config
}

/// Starts a gateway with `config` on port 0 and waits until it answers a JSON-RPC call.
pub async fn gateway(config: GatewayConfig) -> TestGateway {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        bts_gateway::run(listener, &config, None, None, shutdown).await.unwrap();
    });
    let gw = TestGateway {
        addr,
        stop: Some(stop),
        task,
    };
    // Ready when a backend is healthy: the first health check admits it.
    loop {
        let (status, body) = post(addr, "/", r#"{"id":1,"method":"get_chain_id","params":[]}"#).await;
        if status == 200 && body.contains("result") {
            return gw;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends one raw HTTP/1.1 request and returns the status and body.
pub async fn raw_http(addr: SocketAddr, request: String) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        let _ = s.read_to_string(&mut response);
        let status = response.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        (status, body)
    })
    .await
    .unwrap()
}

/// POSTs `body` to `path`.
pub async fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    raw_http(addr, request).await
}

/// `bts_gateway_limited_total{limit="<limit>"}` as the gateway at `addr` reports it (0 before
/// the first).
pub async fn limited(addr: SocketAddr, limit: &str) -> u64 {
    let (_, text) = raw_http(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned(),
    )
    .await;
    let prefix = format!("bts_gateway_limited_total{{limit=\"{limit}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// The sum of every series of metric `name` the gateway at `addr` reports (0 before the first).
pub async fn metric(addr: SocketAddr, name: &str) -> f64 {
    let (_, text) = raw_http(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned(),
    )
    .await;
    text.lines()
        .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' '])))
        .filter_map(|l| l.rsplit(' ').next()?.trim().parse::<f64>().ok())
        .sum()
}

/// Changes a devnet node's faults through its admin endpoint.
pub async fn fault(node: SocketAddr, change: Value) {
    let (status, body) = post(node, "/devnet/admin", &change.to_string()).await;
    assert_eq!(status, 200, "{body}");
}

/// Cordons (or uncordons) backend `index` of `mainnet` through the gateway's admin endpoint.
pub async fn cordon(gw: &TestGateway, index: usize, on: bool) {
    let action = if on { "cordon" } else { "uncordon" };
    let (status, body) = post(gw.addr, &format!("/admin/backends/mainnet/{index}/{action}"), "").await;
    assert_eq!(status, 200, "{body}");
}

/// A raw WebSocket client: sends texts, reads JSON messages.
pub struct RawWs {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl RawWs {
    /// Connects.
    pub async fn connect(url: &str) -> RawWs {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        RawWs { socket }
    }

    /// Sends one message as it is.
    pub async fn send(&mut self, message: Message) {
        self.socket.send(message).await.unwrap();
    }

    /// Sends a call and returns its answer, passing over notices.
    pub async fn call(&mut self, id: u64, api: Value, method: &str, args: Value) -> Value {
        let request = json!({"id": id, "method": "call", "params": [api, method, args]});
        self.socket
            .send(Message::Text(request.to_string().into()))
            .await
            .unwrap();
        loop {
            let v = self.next().await;
            if v["id"] == id {
                return v;
            }
        }
    }

    /// The next JSON message.
    pub async fn next(&mut self) -> Value {
        loop {
            match self
                .socket
                .next()
                .await
                .expect("the gateway closed the connection")
                .unwrap()
            {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Close(frame) => panic!("closed by the gateway: {frame:?}"),
                _ => {}
            }
        }
    }

    /// The next close frame (code, reason), passing over other messages.
    pub async fn closed(&mut self) -> Option<(u16, String)> {
        while let Some(m) = self.socket.next().await {
            if let Ok(Message::Close(frame)) = m {
                return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
            }
        }
        None
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `$BTS_PYTHON`, else the workspace's `.venv`, else `python3`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BTS_PYTHON") {
        return p.into();
    }
    let venv = root().join(".venv/bin/python");
    if venv.exists() { venv } else { "python3".into() }
}

/// Runs a peer program to completion off the runtime; its last stdout line, as JSON.
pub async fn run_peer(mut command: std::process::Command) -> Value {
    let shown = format!("{command:?}");
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap();
    let output = output.unwrap_or_else(|e| panic!("cannot run {shown}: {e}; run scripts/test to install the peers"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown} failed:\n{stderr}\n{stdout}");
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}
