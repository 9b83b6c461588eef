//! The readiness probe (IO edge): asks a node for its chain id and head block over HTTP JSON-RPC
//! and judges the answers with [`crate::health::judge`]. Used by the images' HEALTHCHECK and by
//! Kubernetes probes through `bts-infra node ready`.

use crate::health::{Expectations, NotReady, Observation, Ready, judge};
use bts_rpc::{HttpClient, HttpOptions};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Probes the node at `http_url` (see [`crate::health::probe_url`]); the whole probe takes at
/// most `timeout`.
pub async fn probe(http_url: &str, expect: &Expectations, timeout: Duration) -> Result<Ready, NotReady> {
    let unreachable = |reason: String| NotReady::Unreachable {
        url: http_url.to_owned(),
        reason,
    };
    let options = HttpOptions {
        timeout,
        connect_timeout: timeout,
        ..HttpOptions::default()
    };
    let client = HttpClient::new(http_url, options).map_err(|e| unreachable(e.to_string()))?;
    let ask = async {
        let api = client.api();
        let chain_id = api.get_chain_id().await?;
        let head = api.get_dynamic_global_properties().await?;
        Ok::<_, bts_rpc::RpcError>(Observation {
            chain_id,
            head_block_number: head.head_block_number,
            head_time: head.time,
        })
    };
    let observed = match tokio::time::timeout(timeout, ask).await {
        Ok(Ok(observed)) => observed,
        Ok(Err(e)) => return Err(unreachable(e.to_string())),
        Err(_) => {
            return Err(unreachable(format!(
                "no answer within {}",
                humantime::format_duration(timeout)
            )));
        }
    };
    // A clock before 1970 is not a state a probe can do anything about; it reads as "very stale".
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    judge(&observed, expect, now)
}
