//! Reproducer (for an upstream fjall report) of silent truncation at a corrupt entry in the
//! *middle* of the journal: one flipped byte (the tag of a batch's start marker) makes
//! recovery truncate the journal there and drop every later, fsynced batch, with nothing
//! logged above DEBUG and `open` returning `Ok`.
//!
//! `cargo run -q -p tally-storage --example fjall_mid_journal_truncation`

use fjall::{Database, KeyspaceCreateOptions, PersistMode};

/// Batches written, each of one key, each fsynced.
const BATCHES: u32 = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let journal = |dir: &std::path::Path| -> std::io::Result<std::path::PathBuf> {
        let mut found = Vec::new();
        for entry in walk(dir)? {
            if entry.extension().is_some_and(|ext| ext == "jnl") {
                found.push(entry);
            }
        }
        found.sort();
        found
            .pop()
            .ok_or_else(|| std::io::Error::other("no journal file"))
    };
    {
        let db = Database::builder(dir.path()).open()?;
        let items = db.keyspace("items", KeyspaceCreateOptions::default)?;
        for n in 0..BATCHES {
            let mut batch = db.batch();
            batch.insert(&items, n.to_be_bytes(), b"value");
            batch.commit()?;
            db.persist(PersistMode::SyncAll)?;
        }
    }
    let path = journal(dir.path())?;
    let mut bytes = std::fs::read(&path)?;
    // The start marker of batch 50 (tag 1, item count 1 as u32 LE, then the seqno): the last
    // one before its key (the journal file is preallocated, so its length tells nothing).
    let key = [(BATCHES / 2).to_be_bytes().as_slice(), b"value"].concat();
    let key_at = find(&bytes, &key, 0).ok_or("key of batch 50 not in the journal")?;
    let mut middle = 0;
    let mut from = 0;
    while let Some(at) = find(&bytes[..key_at], &[1, 1, 0, 0, 0], from) {
        middle = at;
        from = at + 1;
    }
    println!(
        "journal {} is {} bytes; flipping the byte at {middle} (tag {} of batch {})",
        path.display(),
        bytes.len(),
        bytes[middle],
        BATCHES / 2
    );
    bytes[middle] = 0xFF;
    std::fs::write(&path, &bytes)?;

    let db = Database::builder(dir.path()).open()?;
    let items = db.keyspace("items", KeyspaceCreateOptions::default)?;
    let recovered = items.iter().count();
    println!(
        "reopened without error: {recovered} of {BATCHES} fsynced batches recovered; journal now {} bytes",
        std::fs::metadata(&path)?.len()
    );
    Ok(())
}

/// The first position of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| at + from)
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}
