//! A [`Store`] wrapper for tests that need storage to misbehave on purpose: batch writes that
//! fail (a full disk: fatal; a lost connection: retryable) or that are held until released (a
//! slow disk), and tenant-scoped reads that wait on a test's hook (a slow read). Everything
//! else, and every write that goes through, is the wrapped real store (see [`StoreLayer`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::watch;

use crate::{SharedStore, Store, StoreError, StoreLayer};

/// A future a read waits for.
type Delay = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Called before a read with the [`Store`] method's name and the id it reads.
type ReadHook = Arc<dyn Fn(&'static str, &str) -> Delay + Send + Sync>;

/// A real store whose batch writes can be made to fail or to wait, and whose reads to wait.
#[derive(Debug)]
pub struct FaultInjectingStore {
    inner: SharedStore,
    write_error: Mutex<Option<StoreError>>,
    /// The next writes to fail, and with what.
    fail_next: Mutex<Option<(usize, StoreError)>>,
    hold: watch::Sender<bool>,
    written: Mutex<Vec<usize>>,
    read_hook: Mutex<Option<DebugHook>>,
}

struct DebugHook(ReadHook);

impl std::fmt::Debug for DebugHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadHook")
    }
}

impl FaultInjectingStore {
    /// Wraps `inner`; writes go through until told otherwise.
    pub fn new(inner: SharedStore) -> Self {
        Self {
            inner,
            write_error: Mutex::new(None),
            fail_next: Mutex::new(None),
            hold: watch::Sender::new(false),
            written: Mutex::new(Vec::new()),
            read_hook: Mutex::new(None),
        }
    }

    /// Makes every following tenant-scoped read first await `hook(method, id)` (see
    /// [`StoreLayer::before_read`] for the ids; replaces an earlier hook).
    pub fn delay_reads(
        &self,
        hook: impl Fn(&'static str, &str) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync
        + 'static,
    ) {
        if let Ok(mut slot) = self.read_hook.lock() {
            *slot = Some(DebugHook(Arc::new(hook)));
        }
    }

    /// Makes every following batch write fail with a fatal [`StoreError::Backend`] (a full
    /// disk), or stops doing so.
    pub fn fail_writes(&self, fail: bool) {
        self.inject_write_error(
            fail.then(|| StoreError::Backend("injected fault: no space left on device".into())),
        );
    }

    /// Makes every following batch write fail with a retryable [`StoreError::Unavailable`] (a
    /// lost connection), or stops doing so.
    pub fn fail_writes_retryably(&self, fail: bool) {
        self.inject_write_error(
            fail.then(|| StoreError::Unavailable("injected fault: connection reset".into())),
        );
    }

    /// Makes every following batch write fail with `error` (`None`: let writes through).
    pub fn inject_write_error(&self, error: Option<StoreError>) {
        if let Ok(mut slot) = self.write_error.lock() {
            *slot = error;
        }
    }

    /// Makes the next `count` writes fail with `error` (a retryable
    /// [`StoreError::Unavailable`], say), then lets writes through again; `usize::MAX` for
    /// "until told otherwise", `0` to stop.
    pub fn fail_next_writes(&self, count: usize, error: StoreError) {
        if let Ok(mut next) = self.fail_next.lock() {
            *next = (count > 0).then_some((count, error));
        }
    }

    /// The injected error for the write being made, if one is due (counting it down).
    fn next_failure(&self) -> Option<StoreError> {
        let mut next = self.fail_next.lock().ok()?;
        let (left, error) = next.as_mut()?;
        let error = error.clone();
        *left -= 1;
        if *left == 0 {
            *next = None;
        }
        Some(error)
    }

    /// Makes every following write wait until [`FaultInjectingStore::release_writes`].
    pub fn hold_writes(&self) {
        self.hold.send_replace(true);
    }

    /// Lets held and later writes through.
    pub fn release_writes(&self) {
        self.hold.send_replace(false);
    }

    /// Readings per successful write, in order.
    pub fn written_batches(&self) -> Vec<usize> {
        self.written.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl StoreLayer for FaultInjectingStore {
    fn inner(&self) -> &dyn Store {
        self.inner.as_ref()
    }

    async fn before_read(&self, method: &'static str, id: &str) {
        let hook = self
            .read_hook
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|hook| hook.0.clone()));
        if let Some(hook) = hook {
            hook(method, id).await;
        }
    }

    async fn before_write(&self, method: &'static str) -> Result<(), StoreError> {
        if method != "write_batch" {
            return Ok(());
        }
        let mut held = self.hold.subscribe();
        let _ = held.wait_for(|hold| !hold).await;
        if let Some(error) = self.next_failure() {
            return Err(error);
        }
        let injected = self.write_error.lock().ok().and_then(|slot| slot.clone());
        injected.map_or(Ok(()), Err)
    }

    fn after_write_batch(&self, readings: usize) {
        if let Ok(mut written) = self.written.lock() {
            written.push(readings);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EmbeddedStore, WriteBatch};

    #[tokio::test]
    async fn injects_a_retryable_and_a_fatal_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = FaultInjectingStore::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap()));
        store.fail_writes(true);
        let fatal = store
            .write_batch(Arc::new(WriteBatch::default()))
            .await
            .unwrap_err();
        assert!(!fatal.is_retryable(), "{fatal}");
        store.fail_writes_retryably(true);
        let retryable = store
            .write_batch(Arc::new(WriteBatch::default()))
            .await
            .unwrap_err();
        assert!(retryable.is_retryable(), "{retryable}");
        store.fail_writes(false);
        store
            .write_batch(Arc::new(WriteBatch::default()))
            .await
            .unwrap();
        assert_eq!(store.written_batches(), vec![0]);
    }
}
