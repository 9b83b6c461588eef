//! The parameterized witness_node launcher: one validated node spec (network, modes, history,
//! keys, endpoints) rendered into witness_node's config.ini and command line, a supervisor that
//! runs witness_node and stops it cleanly, and a readiness probe.
//!
//! The core is pure ([`spec`], [`plugins`], [`apis`], [`options`], [`extra`], [`keyfile`], [`render`],
//! [`health`]): no IO, no runtime, no clock; `tests/purity.rs` checks. The IO edges are thin:
//! [`run`] (files, processes, signals), [`ready`] (one JSON-RPC probe) and the Elasticsearch wait.
//!
//! ```
//! use bts_node::spec::{Files, NodeSpec, Origin, RawSpec, Setting};
//! struct NoFiles;
//! impl Files for NoFiles {
//!     fn read(&self, path: &std::path::Path) -> Result<String, String> {
//!         Err(format!("{} does not exist", path.display()))
//!     }
//! }
//! let mut raw = RawSpec::default();
//! raw.set(Setting::Network, "testnet", Origin::Flag)?;
//! raw.set(Setting::Mode, "api", Origin::Flag)?;
//! raw.set(Setting::History, "low", Origin::Flag)?;
//! raw.set(Setting::RpcEndpoint, "0.0.0.0:8091", Origin::Flag)?;
//! let spec = NodeSpec::build(&raw, &NoFiles)?;
//! let rendered = bts_node::render::render(&spec);
//! assert!(rendered.config_ini.contains("\nplugins = account_history market_history grouped_orders api_helper_indexes custom_operations\n"));
//! assert_eq!(rendered.command_line("witness_node"), "witness_node --data-dir witness_node_data_dir");
//! # Ok::<(), bts_node::spec::SpecError>(())
//! ```

pub mod apis;
pub mod es;
pub mod extra;
pub mod health;
pub mod keyfile;
pub mod options;
pub mod plugins;
pub mod ready;
pub mod render;
pub mod run;
pub mod spec;
