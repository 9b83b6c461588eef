//! What the long-running commands (`devnet`, `up`, later `gateway` and `faucet`) share: the
//! async runtime, logging, and waiting for Ctrl-C or SIGTERM.

use crate::error::InputError;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Runs `main` on a multi-threaded tokio runtime, logging at `info` (services).
pub(crate) fn block_on<T>(main: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    run(main, "info")
}

/// Runs a one-shot command's `main`: its result is the output, so the log shows only warnings
/// and errors unless `RUST_LOG` asks for more.
pub(crate) fn block_on_quiet<T>(main: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    run(main, "warn")
}

fn run<T>(main: impl Future<Output = anyhow::Result<T>>, level: &str) -> anyhow::Result<T> {
    init_logging(level);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?
        .block_on(main)
}

/// How long-running commands write their log on stderr (`--log-format`, `BTS_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Lines for people; ANSI colours only when stderr is a terminal and `NO_COLOR` is not set.
    #[default]
    Text,
    /// One JSON object per line (time, level, target, fields), for log shippers.
    Json,
}

static LOG_FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// Chooses the log format, once, before a command runs.
pub(crate) fn set_log_format(format: LogFormat) {
    let _ = LOG_FORMAT.set(format);
}

/// Logs to stderr; `RUST_LOG` picks the level (default `info`). Without a terminal (a container,
/// a pipe, a file) there are no colour codes: they would land in `docker logs` as escapes.
fn init_logging(level: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests run commands in one process) is harmless.
    let _ = match LOG_FORMAT.get().copied().unwrap_or_default() {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            builder.with_ansi(colour).try_init()
        }
    };
}

/// Binds `addr`, saying what to do when it is taken.
pub(crate) async fn bind(addr: SocketAddr, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        InputError::new(format!("cannot listen on {addr}: {e}"))
            .hint(format!(
                "is something else using that port? pick another with {flag} (port 0 picks a free one)"
            ))
            .into()
    })
}

/// Completes on Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send). The handlers are
/// installed when this is called, not when it is first awaited: call it before reporting that
/// the service is up, so a SIGTERM sent right after the report stops it gracefully instead of
/// killing it.
pub(crate) fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = wait(term) => {}
                () = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Parses a block interval: a duration of whole seconds, at least one (`3s`, `1s`, `5`).
pub(crate) fn parse_interval(s: &str) -> Result<u32, String> {
    let d = match s.parse::<u64>() {
        Ok(secs) => std::time::Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(s).map_err(|e| format!("{e}: write e.g. 3s"))?,
    };
    if d.subsec_nanos() != 0 || d.as_secs() == 0 {
        return Err("blocks come in whole seconds, at least 1s (as on a real chain)".to_owned());
    }
    u32::try_from(d.as_secs()).map_err(|_| "too long".to_owned())
}
