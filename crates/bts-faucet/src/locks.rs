//! One registration per name at a time within this process: a lock per account name, made on
//! demand and forgotten when nobody holds it. (Across processes the database's primary key and
//! the claim token do the same job.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The per-name locks.
#[derive(Debug, Default)]
pub(crate) struct NameLocks {
    locks: Mutex<HashMap<String, Weak<AsyncMutex<()>>>>,
}

/// Held while a name is worked on.
pub(crate) type NameGuard = OwnedMutexGuard<()>;

impl NameLocks {
    fn entry(&self, name: &str) -> Arc<AsyncMutex<()>> {
        let mut locks = self
            .locks
            .lock()
            .expect("name locks are never poisoned: no panics while held");
        // Forget the locks nobody holds, so the map stays as small as the work in flight.
        locks.retain(|_, lock| lock.strong_count() > 0);
        if let Some(lock) = locks.get(name).and_then(Weak::upgrade) {
            return lock;
        }
        let lock = Arc::new(AsyncMutex::new(()));
        locks.insert(name.to_owned(), Arc::downgrade(&lock));
        lock
    }

    /// Waits for the name's lock.
    pub(crate) async fn lock(&self, name: &str) -> NameGuard {
        self.entry(name).lock_owned().await
    }

    /// The name's lock if nobody holds it.
    pub(crate) fn try_lock(&self, name: &str) -> Option<NameGuard> {
        self.entry(name).try_lock_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_name() {
        let locks = NameLocks::default();
        let held = locks.lock("alice-1").await;
        assert!(locks.try_lock("alice-1").is_none());
        assert!(locks.try_lock("bob-1").is_some());
        drop(held);
        assert!(locks.try_lock("alice-1").is_some());
        assert!(locks.locks.lock().unwrap().len() <= 1);
    }
}
