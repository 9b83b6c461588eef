//! A devnet node's data dir: what it needs to resume after a restart or a crash.
//!
//! * `genesis.json`: the chain's genesis file ([`ChainConfig::to_genesis_json`]; with the
//!   registrar's private key when the node knows it, so the file is readable only by its owner),
//!   written once, atomically.
//! * `blocks.log`: a header (magic, format version, chain id, genesis hash), then one frame per
//!   block: the payload's length (u32, little-endian), the first 8 bytes of its SHA-256, and the
//!   payload ([`BlockRecord::to_bytes`]). A frame is written with one `write` and flushed to the
//!   disk before the block is served, so `kill -9` at any moment leaves at most one torn frame at
//!   the end: it is found on the next start, cut off and logged. A frame that fails its checksum
//!   with frames after it is damage no crash makes: the node refuses to start.
//! * The block file is locked (`flock`) while a node uses it: two nodes on one data dir would
//!   interleave their blocks.

use crate::chain::{ChainConfig, ConfigError};
use crate::ledger::{BlockRecord, Ledger};
use bts_protocol::Digest;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;
use tracing::{info, warn};

const MAGIC: &[u8; 16] = b"bts-devnet block";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 16 + 4 + 32 + 32;
const FRAME_HEAD: usize = 4 + 8;
/// No record comes near this; a larger length is damage, not a block.
const MAX_RECORD: usize = 64 << 20;

/// Why a data dir cannot be used. Each says which file and what to do.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The data dir holds another chain than the one this node runs.
    #[error(
        "{path} holds another chain ({stored}) than this node's ({wanted}): give another --data-dir, or remove this one to start over"
    )]
    OtherChain {
        /// The data dir.
        path: PathBuf,
        /// The stored chain: chain id and genesis hash.
        stored: String,
        /// This node's chain.
        wanted: String,
    },
    /// A file is damaged beyond a torn tail, or is not a devnet file at all.
    #[error("{path}: {detail}; the data dir cannot be used as it is: restore it, or remove it to start over")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        detail: String,
    },
    /// The stored genesis file does not read.
    #[error("{path}: {source}")]
    Genesis {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        source: ConfigError,
    },
    /// Another process uses the data dir.
    #[error("{path} is in use by another devnet node (its block file is locked): give each node its own --data-dir")]
    Locked {
        /// The block file.
        path: PathBuf,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A node's data dir (created on first use).
#[derive(Debug, Clone)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// The data dir at `path`; nothing is read or created yet.
    pub fn new(path: impl Into<PathBuf>) -> DataDir {
        DataDir { path: path.into() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn genesis_path(&self) -> PathBuf {
        self.path.join("genesis.json")
    }

    fn blocks_path(&self) -> PathBuf {
        self.path.join("blocks.log")
    }

    /// The stored genesis, or `None` for a new (or empty) data dir.
    pub fn stored_genesis(&self) -> Result<Option<ChainConfig>, StoreError> {
        let path = self.genesis_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.blocks_path().exists() {
                    return Err(StoreError::Damaged {
                        path: self.blocks_path(),
                        detail: "there is a block file but no genesis.json beside it".to_owned(),
                    });
                }
                return Ok(None);
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let config = ChainConfig::from_genesis_json(&text, bts_protocol::Prefix::BTS)
            .map_err(|source| StoreError::Genesis { path, source })?;
        Ok(Some(config))
    }

    /// Opens the data dir for `config`'s chain and reads its blocks: a new data dir is created
    /// (genesis file, empty block file); an existing one must hold the same chain (same genesis
    /// hash). A torn last frame is cut off, with a log line.
    pub fn open(&self, config: &ChainConfig) -> Result<Ledger, StoreError> {
        std::fs::create_dir_all(&self.path).map_err(io(&self.path))?;
        let header = header(config);
        match self.stored_genesis()? {
            Some(stored) if stored.genesis_hash() != config.genesis_hash() => {
                return Err(StoreError::OtherChain {
                    path: self.path.clone(),
                    stored: describe(&stored),
                    wanted: describe(config),
                });
            }
            Some(_) => {}
            None => write_private(&self.genesis_path(), config.to_genesis_json(true).as_bytes())?,
        }
        let path = self.blocks_path();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::Locked { path }),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(&path))?;
        if bytes.len() < HEADER_LEN {
            if !header.starts_with(&bytes) {
                return Err(damaged(&path, "this is not a devnet block file (wrong header)"));
            }
            // A block file torn while it was being created holds no block yet.
            file.set_len(0).map_err(io(&path))?;
            file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            file.write_all(&header).map_err(io(&path))?;
            file.sync_all().map_err(io(&path))?;
            sync_dir(&self.path)?;
            info!(target: "bts_devnet::store", path = %path.display(), "new block file");
            return Ok(Ledger::with(
                Vec::new(),
                Some(BlockFile::new(file, path, HEADER_LEN as u64)),
            ));
        }
        check_header(&path, &bytes[..HEADER_LEN], &header, config)?;
        let (records, good) = read_frames(&path, &bytes, config.prefix)?;
        if good < bytes.len() {
            warn!(target: "bts_devnet::store", path = %path.display(), kept = records.len(), cut_bytes = bytes.len() - good,
                "the block file ended in a torn frame (the node stopped while writing it); cut it off");
            file.set_len(good as u64).map_err(io(&path))?;
            file.sync_all().map_err(io(&path))?;
        }
        info!(target: "bts_devnet::store", path = %path.display(), blocks = records.len(), "block file read");
        Ok(Ledger::with(records, Some(BlockFile::new(file, path, good as u64))))
    }
}

fn describe(config: &ChainConfig) -> String {
    format!(
        "chain id {}, genesis {} at {}",
        config.chain_id,
        &config.genesis_hash().to_string()[..16],
        config.genesis_time
    )
}

fn damaged(path: &Path, detail: impl Into<String>) -> StoreError {
    StoreError::Damaged {
        path: path.to_owned(),
        detail: detail.into(),
    }
}

fn header(config: &ChainConfig) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&config.chain_id.0);
    out.extend_from_slice(&config.genesis_hash().0);
    out
}

fn check_header(path: &Path, found: &[u8], wanted: &[u8], config: &ChainConfig) -> Result<(), StoreError> {
    if &found[..16] != MAGIC {
        return Err(damaged(path, "this is not a devnet block file (wrong magic)"));
    }
    if found[16..20] != VERSION.to_le_bytes() {
        return Err(damaged(path, "written in another format version"));
    }
    if found != wanted {
        return Err(StoreError::OtherChain {
            path: path.to_owned(),
            stored: format!("chain id {}", hex::encode(&found[20..52])),
            wanted: describe(config),
        });
    }
    Ok(())
}

/// The frames after the header: the records, and the length of the file up to the last whole
/// frame. A damaged frame is a torn tail only if it is the last thing in the file.
fn read_frames(
    path: &Path,
    bytes: &[u8],
    prefix: bts_protocol::Prefix,
) -> Result<(Vec<BlockRecord>, usize), StoreError> {
    let mut records = Vec::new();
    let mut pos = HEADER_LEN;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.len() < FRAME_HEAD {
            break;
        }
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let end = FRAME_HEAD + len;
        if len > MAX_RECORD || rest.len() < end {
            break;
        }
        let payload = &rest[FRAME_HEAD..end];
        let at = || format!("block frame at byte {pos} (after block {})", records.len());
        if checksum(payload) != rest[4..12] {
            if end == rest.len() {
                break;
            }
            return Err(damaged(path, format!("{} fails its checksum", at())));
        }
        let record = BlockRecord::from_bytes(payload, prefix).map_err(|e| damaged(path, format!("{}: {e}", at())))?;
        if record.num as usize != records.len() + 1 {
            return Err(damaged(path, format!("{} holds block {}", at(), record.num)));
        }
        records.push(record);
        pos += end;
    }
    Ok((records, pos))
}

fn checksum(payload: &[u8]) -> [u8; 8] {
    Digest::sha256(payload).0[..8].try_into().expect("8 of 32 bytes")
}

/// Writes `bytes` to `path` as a new file readable only by its owner, atomically: a crash leaves
/// the old file or the new one, never a part.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("json.tmp");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// The open block file of a ledger: frames are appended at `len`.
pub(crate) struct BlockFile {
    file: File,
    path: PathBuf,
    len: u64,
}

impl BlockFile {
    fn new(file: File, path: PathBuf, len: u64) -> BlockFile {
        BlockFile { file, path, len }
    }

    /// Appends one frame and flushes it to the disk. On an error the file is cut back to its
    /// last whole frame, so a later append does not follow a partial one.
    pub(crate) fn append(&mut self, payload: &[u8]) -> Result<(), StoreError> {
        let mut frame = Vec::with_capacity(FRAME_HEAD + payload.len());
        frame.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
        frame.extend_from_slice(&checksum(payload));
        frame.extend_from_slice(payload);
        let written = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&frame))
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += frame.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(io(&self.path)(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_protocol::{Prefix, TimePointSec};

    fn record(num: u32) -> BlockRecord {
        BlockRecord {
            num,
            time: TimePointSec(1_000 + num),
            transactions: Vec::new(),
        }
    }

    fn dir() -> (tempfile::TempDir, DataDir) {
        let guard = tempfile::tempdir().unwrap();
        let dir = DataDir::new(guard.path().join("data"));
        (guard, dir)
    }

    #[test]
    fn blocks_survive_a_reopen_and_the_genesis_is_kept_private() {
        let (_guard, dir) = dir();
        let config = ChainConfig::devnet(Prefix::TEST);
        assert!(dir.stored_genesis().unwrap().is_none());
        {
            let ledger = dir.open(&config).unwrap();
            for n in 1..=3 {
                ledger.append(record(n)).unwrap();
            }
            // A second node on the same data dir is refused while the first holds it.
            assert!(matches!(dir.open(&config), Err(StoreError::Locked { .. })));
        }
        let ledger = dir.open(&config).unwrap();
        assert_eq!(ledger.head(), 3);
        assert_eq!(*ledger.get(2).unwrap(), record(2));
        let stored = dir.stored_genesis().unwrap().unwrap();
        assert_eq!(stored.genesis_hash(), config.genesis_hash());
        assert!(
            stored.registrar_private_key.is_some(),
            "the producer's copy keeps the key"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("genesis.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "genesis.json holds a private key: owner only");
        }
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_writing_goes_on() {
        let (_guard, dir) = dir();
        let config = ChainConfig::devnet(Prefix::TEST);
        let path = dir.path().join("blocks.log");
        drop({
            let ledger = dir.open(&config).unwrap();
            (1..=3).for_each(|n| drop(ledger.append(record(n)).unwrap()));
            ledger
        });
        let full = std::fs::metadata(&path).unwrap().len();
        // Every cut inside the last frame loses exactly that frame.
        let frame = (FRAME_HEAD + record(3).to_bytes().len()) as u64;
        for cut in 1..frame {
            let file = OpenOptions::new().write(true).open(&path).unwrap();
            file.set_len(full - cut).unwrap();
            drop(file);
            let ledger = dir.open(&config).unwrap();
            assert_eq!(ledger.head(), 2, "cut {cut}");
            ledger.append(record(3)).unwrap();
            drop(ledger);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), full);
        }
        // A flipped byte in the last frame is a torn write too.
        let mut bytes = std::fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(dir.open(&config).unwrap().head(), 2);
    }

    #[test]
    fn damage_before_the_tail_and_other_chains_are_refused() {
        let (_guard, dir) = dir();
        let config = ChainConfig::devnet(Prefix::TEST);
        let path = dir.path().join("blocks.log");
        drop({
            let ledger = dir.open(&config).unwrap();
            (1..=3).for_each(|n| drop(ledger.append(record(n)).unwrap()));
            ledger
        });
        let mut other = config.clone();
        other.genesis_time = other.genesis_time.saturating_add(3);
        let e = dir.open(&other).unwrap_err();
        assert!(matches!(e, StoreError::OtherChain { .. }), "{e}");
        assert!(e.to_string().contains("another --data-dir"), "{e}");

        let mut bytes = std::fs::read(&path).unwrap();
        let second_frame_payload = HEADER_LEN + FRAME_HEAD + record(1).to_bytes().len() + FRAME_HEAD;
        bytes[second_frame_payload] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let e = dir.open(&config).unwrap_err();
        assert!(matches!(e, StoreError::Damaged { .. }), "{e}");
        assert!(e.to_string().contains("fails its checksum"), "{e}");

        std::fs::write(
            &path,
            b"something else entirely, longer than a header of ours..........................",
        )
        .unwrap();
        let e = dir.open(&config).unwrap_err();
        assert!(e.to_string().contains("not a devnet block file"), "{e}");

        std::fs::remove_file(dir.path().join("genesis.json")).unwrap();
        assert!(matches!(dir.stored_genesis(), Err(StoreError::Damaged { .. })));
    }
}
