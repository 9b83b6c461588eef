//! bts-fleet: orchestration of a BitShares fleet from one inventory file.
//!
//! The core is pure (no IO, no clock): [`inventory`] parses and checks `fleet.toml`, [`render`]
//! turns it into one compose project per host (compose file, service configs, secrets to copy).
//! Reaching the hosts (SSH, each host's Docker engine) is the caller's edge; secrets are read
//! through the [`Secrets`] trait, so their values pass through here only to be checked.

pub mod finding;
pub mod inventory;
pub mod plan;
pub mod render;
mod rules;
mod spec;
pub mod status;

pub use finding::{Finding, Severity};
pub use inventory::{Engine, Inventory, SecretSource};
pub use spec::{Secrets, secret_path};
