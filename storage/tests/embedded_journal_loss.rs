//! A corrupt byte in the middle of the embedded store's journal: fjall's recovery truncates the
//! journal there and drops later, acknowledged commits; tally's commit mark notices, refuses to
//! open the store, and opens it only when the operator accepts the loss (logging it at WARN).

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use tally_protocol::TenantId;
use tally_storage::{
    EmbeddedStore, JournalLoss, Store, StoreError, Tenant, testkit::corrupt_journal_before,
};

/// Tenants created, one acknowledged (fsynced) commit each.
const TENANTS: usize = 100;

fn tenant(n: usize) -> Tenant {
    Tenant {
        id: TenantId::new(format!("t{n:03}")).unwrap(),
        name: format!("tenant number {n:03}"),
    }
}

/// A log sink that tests can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Runs `f` with WARN and above captured here.
    fn during<T>(&self, f: impl FnOnce() -> T) -> T {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_that_lost_acknowledged_commits_refuses_to_open_unless_accepted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        for n in 0..TENANTS {
            store.create_tenant(&tenant(n)).await.unwrap();
        }
    }
    // Each commit holds the tenant and the commit number: two items.
    corrupt_journal_before(dir.path(), b"tenant number 050", 2);

    let log = Captured::default();
    let refused = log.during(|| EmbeddedStore::open(dir.path()));
    let Err(StoreError::Corrupt(message)) = refused else {
        panic!("a journal that lost commits opened: {refused:?}");
    };
    assert!(
        message.contains("lost acknowledged writes")
            && message.contains(&format!("commit {TENANTS} was durable"))
            && message.contains("recovery ended at commit 50")
            && message.contains("accept_journal_loss"),
        "{message}"
    );
    assert!(log.text().contains("WARN"), "{}", log.text());
    // Refusing changes nothing: a second plain open refuses again.
    assert!(EmbeddedStore::open(dir.path()).is_err());

    let log = Captured::default();
    let store = log
        .during(|| EmbeddedStore::open_with(dir.path(), JournalLoss::Accept))
        .unwrap();
    let text = log.text();
    assert!(
        text.contains("WARN") && text.contains("lost acknowledged writes"),
        "{text}"
    );
    let recovered = store.tenants().await.unwrap();
    let ids: Vec<&str> = recovered.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids.len(), 50, "{ids:?}");
    assert!(ids.iter().all(|id| *id < "t050"), "{ids:?}");

    // Accepted once, the store carries on: new commits count from what was recovered, and a
    // plain open afterwards finds no loss.
    store.create_tenant(&tenant(TENANTS)).await.unwrap();
    drop(store);
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(store.tenants().await.unwrap().len(), recovered.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_store_reopens_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let log = Captured::default();
        let store = log.during(|| EmbeddedStore::open(dir.path())).unwrap();
        assert_eq!(log.text(), "", "round {round}");
        store.create_tenant(&tenant(round)).await.unwrap();
    }
}
