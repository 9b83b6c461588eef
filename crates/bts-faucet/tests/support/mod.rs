//! Shared by the faucet's integration tests: a devnet with a referrer and a basic account, a
//! database per test (an SQLite file, or a PostgreSQL schema), a faucet on port 0, a raw HTTP
//! client (so tests control every header and byte), chain lookups and the JavaScript peers.
//!
//! PostgreSQL: set `BTS_TEST_POSTGRES_URL=postgres://USER:PASSWORD@127.0.0.1:5432/DATABASE` (the
//! role needs CREATE on the database: each test makes its own schema). Without it the PostgreSQL
//! variants fail and say how to set it up, unless `BTS_TEST_SKIP_POSTGRES=1` opts out.

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use bts_devnet::chain::GenesisAccount;
use bts_devnet::faults::FaultChange;
use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_faucet::{Faucet, FaucetConfig, FaucetError, Limits};
use bts_protocol::{Prefix, PrivateKey, PublicKey, Role};
use bts_rpc::{Account, HttpClient, HttpOptions};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod http;
pub use http::{Reply, request};

/// The PostgreSQL test database URL.
pub const POSTGRES_ENV: &str = "BTS_TEST_POSTGRES_URL";
/// Set to 1 to skip the PostgreSQL variants (developers without PostgreSQL).
pub const SKIP_POSTGRES_ENV: &str = "BTS_TEST_SKIP_POSTGRES";
/// A lifetime member created at genesis (1.2.8): a valid referrer.
pub const REFERRER: &str = "referrer-ltm";
/// A basic account created at genesis (1.2.9): not a member, so not a valid referrer.
pub const BASIC: &str = "basic-user1";

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a scenario `async fn name(backend: Backend)` once per database, as two tests.
#[macro_export]
macro_rules! on_both_databases {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::support::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::support::postgres_skipped() {
                    return;
                }
                super::$scenario($crate::support::Backend::Postgres).await;
            }
        }
    };
}

/// Whether the PostgreSQL variants are skipped on purpose; fails when they are not and no
/// database is configured.
pub fn postgres_skipped() -> bool {
    if std::env::var(POSTGRES_ENV).is_ok_and(|v| !v.is_empty()) {
        return false;
    }
    if std::env::var(SKIP_POSTGRES_ENV).is_ok_and(|v| v == "1") {
        eprintln!("PostgreSQL variant skipped ({SKIP_POSTGRES_ENV}=1)");
        return true;
    }
    panic!(
        "{POSTGRES_ENV} is not set. The faucet's tests run against PostgreSQL too. Set it up with:\n  \
         apt-get install -y postgresql && pg_ctlcluster 15 main start   (or: service postgresql start)\n  \
         su postgres -c \"psql -c \\\"CREATE ROLE bts_test LOGIN PASSWORD 'bts_test'\\\"\"\n  \
         su postgres -c \"psql -c \\\"CREATE DATABASE bts_faucet_test OWNER bts_test\\\"\"\n  \
         export {POSTGRES_ENV}=postgres://bts_test:bts_test@127.0.0.1:5432/bts_faucet_test\n\
         or skip the PostgreSQL variants with {SKIP_POSTGRES_ENV}=1."
    )
}

/// A database of one test.
pub struct TestDb {
    pub url: String,
    dir: Option<PathBuf>,
    schema: Option<(String, String)>,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{tag}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestDb {
    /// A fresh, empty database.
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(unique("bts_faucet_test"));
                std::fs::create_dir_all(&dir).unwrap();
                TestDb {
                    url: format!("sqlite://{}", dir.join("faucet.db").display()),
                    dir: Some(dir),
                    schema: None,
                }
            }
            Backend::Postgres => {
                let base = std::env::var(POSTGRES_ENV).unwrap();
                let schema = unique("faucet_test");
                execute(&base, &format!("CREATE SCHEMA {schema}")).await;
                let sep = if base.contains('?') { '&' } else { '?' };
                TestDb {
                    url: format!("{base}{sep}options[search_path]={schema}"),
                    dir: None,
                    schema: Some((base, schema)),
                }
            }
        }
    }

    /// Removes the database (tests call it at their end; a failed test leaves it to look at).
    pub async fn remove(self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((base, schema)) = &self.schema {
            execute(base, &format!("DROP SCHEMA {schema} CASCADE")).await;
        }
    }
}

async fn execute(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_ENV}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// A TEST-prefix devnet of `nodes` nodes, one-second blocks, admin faults on, with
/// [`REFERRER`] (lifetime member) and [`BASIC`] (basic account) at genesis.
pub async fn devnet(nodes: usize) -> Devnet {
    let mut config = config_now(Prefix::TEST);
    for (name, lifetime_member) in [(REFERRER, true), (BASIC, false)] {
        let key = PrivateKey::from_seed(name).unwrap().public_key(Prefix::TEST);
        config.accounts.push(GenesisAccount {
            name: name.to_owned(),
            owner_key: key,
            active_key: key,
            memo_key: key,
            balance: 1_000_000_000,
            lifetime_member,
            committee_member: false,
        });
    }
    Devnet::start_local("faucet-test", config, nodes, ServerConfig::admin())
        .await
        .unwrap()
}

/// The `http://` URLs of a devnet's nodes.
pub fn http_urls(devnet: &Devnet) -> Vec<String> {
    devnet.nodes().iter().map(|n| n.http_url()).collect()
}

/// A faucet configuration for `devnet` through `nodes`: registrar `faucet` with the
/// development key, path prefix `/onboarding`, no limits, short timeouts.
pub fn config(devnet: &Devnet, nodes: Vec<String>, db: &TestDb) -> FaucetConfig {
    let c = devnet.network().config();
    let mut config = FaucetConfig::new(
        c.registrar_name.clone(),
        c.registrar_private_key
            .clone()
            .expect("the devnet runs with its development key"),
        c.chain_id,
        c.prefix,
        nodes,
        db.url.clone(),
    );
    config.path_prefix = Some("/onboarding".to_owned());
    config.limits = Limits::OFF;
    config.timeouts.node = Duration::from_secs(2);
    config.timeouts.broadcast = Duration::from_secs(3);
    config.timeouts.transaction_expiration = Duration::from_secs(60);
    // The periodic pass is tested through start-up reconciliation; keep it out of the way.
    config.timeouts.reconcile_interval = Duration::from_secs(3600);
    config
}

/// A running faucet.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), FaucetError>>,
}

impl Running {
    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asks it to stop and waits until it has.
    pub async fn stop(mut self) -> Result<(), FaucetError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap()
    }
}

/// Starts a faucet on port 0; returns when it passed its start-up checks.
pub async fn start(config: FaucetConfig) -> Running {
    try_start(config).await.unwrap()
}

/// [`start`], returning a refusal instead of failing.
pub async fn try_start(config: FaucetConfig) -> Result<Running, FaucetError> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let faucet = Faucet::start(listener, config).await?;
    let addr = faucet.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(faucet.serve(async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
    })
}

/// The bitshares-ui password keys (owner, active, memo) of `name`, as strings.
pub fn password_keys(name: &str, password: &str, prefix: Prefix) -> [String; 3] {
    Role::ALL.map(|r| {
        PrivateKey::from_password(name, r, password)
            .unwrap()
            .public_key(prefix)
            .to_string()
    })
}

/// The body bitshares-ui posts.
pub fn body(name: &str, keys: &[String; 3], referrer: Option<&str>) -> Vec<u8> {
    let [owner, active, memo] = keys;
    json!({"account": {"name": name, "owner_key": owner, "active_key": active, "memo_key": memo,
                       "refcode": null, "referrer": referrer}})
    .to_string()
    .into_bytes()
}

/// Posts a registration for `name` with password keys to `/onboarding/api/v1/accounts`.
pub async fn register(faucet: &Running, name: &str, referrer: Option<&str>) -> Reply {
    let keys = password_keys(name, "secret password", Prefix::TEST);
    post(faucet, "/onboarding/api/v1/accounts", &body(name, &keys, referrer), &[]).await
}

/// Posts JSON with bitshares-ui's headers.
pub async fn post(faucet: &Running, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Reply {
    let mut all = vec![("Accept", "application/json"), ("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    request(faucet.addr, "POST", path, &all, body).await
}

/// A node client.
pub fn node(url: &str) -> HttpClient {
    HttpClient::new(url, HttpOptions::default()).unwrap()
}

/// The account `name` as node `url` sees it.
pub async fn account(url: &str, name: &str) -> Option<Account> {
    node(url).api().get_account_by_name(name).await.unwrap()
}

/// How many `account_create` operations for `name` the registrar's history holds.
pub async fn creations(url: &str, name: &str) -> usize {
    let ops: Vec<Value> = node(url)
        .call_as(
            bts_rpc::api::history(),
            "get_account_history_operations",
            &("faucet", 5, "1.11.0", "1.11.0", 100),
        )
        .await
        .unwrap();
    ops.iter().filter(|op| op["op"][1]["name"] == json!(name)).count()
}

/// Sets faults on node `index` of `devnet`.
pub fn fault(devnet: &Devnet, index: usize, change: FaultChange) {
    devnet.nodes()[index].node.faults().apply(&change);
}

/// Polls `condition` until it holds (the deadline only turns a hang into a failure).
pub async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `node peers/js/SCRIPT ARGS...` and parses its last stdout line as JSON.
pub async fn run_js(script: &str, args: &[&str]) -> Value {
    let mut command = Command::new("node");
    command.arg(root().join("peers/js").join(script)).args(args);
    let shown = format!("{command:?}");
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap();
    let output = output.unwrap_or_else(|e| panic!("cannot run {shown}: {e}; install Node.js and run scripts/test"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{shown} failed: {}\n{stdout}\n(peers missing? scripts/test installs them)",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
}

/// The public key a key string denotes (for comparing with chain objects).
pub fn key(s: &str) -> PublicKey {
    PublicKey::parse_any_prefix(s).unwrap()
}

/// Reads a raw reply from a stream to its end.
pub(crate) async fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    buf
}

/// Writes, ignoring a server that stops reading (it may answer before reading a huge body).
pub(crate) async fn write_all(stream: &mut TcpStream, data: &[u8]) {
    let _ = stream.write_all(data).await;
}
