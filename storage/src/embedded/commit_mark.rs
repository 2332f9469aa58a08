//! The embedded store's own durable high-water mark, which detects a journal that lost
//! acknowledged writes.
//!
//! fjall (3.1) recovers its journal by truncating it at the first entry that does not decode,
//! wherever that entry is: one flipped byte in the *middle* of the journal silently drops every
//! later, fsynced batch, and `open` still succeeds (reproducer and upstream report:
//! `storage/examples/fjall_mid_journal_truncation.{rs,md}`). tally therefore numbers its
//! commits itself:
//!
//! - every commit writes the next number under one key of the `commits` keyspace, in the same
//!   fjall batch (so the recovered database holds the number of the newest batch it recovered);
//! - after the batch is durable, the same number is written to a small file next to the
//!   journal, `tally-commit-mark` (16 bytes: the number and its complement, so a torn or
//!   foreign file is recognised).
//!
//! On open, a mark above the recovered number means the journal lost batches that had been
//! acknowledged: the store refuses to open unless the operator accepts the loss.
//!
//! Cost: one 8-byte key in each batch (same fsync) and one 16-byte `pwrite` after it; the mark
//! file itself is fsynced at most once per [`MARK_SYNC_INTERVAL`], on open and on close. The
//! mark is never ahead of the journal (it is written after the batch is durable), so it never
//! refuses a healthy store; after a power cut it may lag by up to that interval (plus what the
//! kernel had not written back), so a loss confined to those last batches goes unnoticed.

use std::{
    fs::{File, OpenOptions},
    io::Read,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use fjall::Keyspace;

use super::codec::backend;
use crate::StoreError;

/// Name of the mark file inside the store directory.
pub(super) const MARK_FILE: &str = "tally-commit-mark";
/// Name of the keyspace holding the number of the newest commit.
pub(super) const KEYSPACE: &str = "commits";
/// The one key of [`KEYSPACE`].
const KEY: &[u8] = b"newest";
/// Longest time between two fsyncs of the mark file while commits flow.
const MARK_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// What the operator allows when the journal lost acknowledged writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JournalLoss {
    /// Refuse to open (the default): the operator restores a backup or decides to accept it.
    #[default]
    Refuse,
    /// Open with what was recovered, after logging the loss at WARN.
    Accept,
}

impl JournalLoss {
    /// [`JournalLoss::Accept`] if `accept` (the `storage.embedded.accept_journal_loss` setting),
    /// else [`JournalLoss::Refuse`].
    pub fn accepted_if(accept: bool) -> Self {
        if accept { Self::Accept } else { Self::Refuse }
    }
}

/// The commit counter and its mark file; held under a mutex so numbers reach the journal in
/// order.
#[derive(Debug)]
pub(super) struct CommitMark {
    file: File,
    path: PathBuf,
    /// Number of the newest durable commit.
    newest: u64,
    last_sync: Instant,
}

impl CommitMark {
    /// Compares the mark file in `dir` with the number recovered in `commits`, refuses a lost
    /// journal unless `loss` accepts it, and resets the mark to the recovered number.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming both numbers when the journal lost acknowledged commits
    /// (or the mark file is unreadable) and `loss` is [`JournalLoss::Refuse`];
    /// [`StoreError::Backend`] on I/O errors.
    pub(super) fn open(
        dir: &Path,
        commits: &Keyspace,
        loss: JournalLoss,
    ) -> Result<Self, StoreError> {
        let path = dir.join(MARK_FILE);
        let recovered = recovered(commits)?;
        let marked = read_mark(&path)?;
        if let Some(problem) = check(&path, marked, recovered) {
            let advice = "restore the store directory from a backup, or set \
                          storage.embedded.accept_journal_loss = true to start with what was recovered";
            match loss {
                JournalLoss::Refuse => {
                    tracing::warn!(store = %dir.display(), %problem, "refusing to open the embedded store");
                    return Err(StoreError::Corrupt(format!("{problem}; {advice}")));
                }
                JournalLoss::Accept => tracing::warn!(
                    store = %dir.display(),
                    %problem,
                    "opening the embedded store with what its journal recovered (storage.embedded.accept_journal_loss)"
                ),
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_error(&path, &e))?;
        let mark = Self {
            file,
            path,
            newest: recovered,
            last_sync: Instant::now(),
        };
        mark.write(recovered)
            .map_err(|e| io_error(&mark.path, &e))?;
        mark.file
            .sync_data()
            .map_err(|e| io_error(&mark.path, &e))?;
        Ok(mark)
    }

    /// Commits `batch` with the next commit number in it, then records that number.
    ///
    /// A failure to record the mark after a durable commit is logged and otherwise ignored: the
    /// commit is durable, and a lagging mark only weakens detection.
    pub(super) fn commit(
        &mut self,
        commits: &Keyspace,
        mut batch: fjall::OwnedWriteBatch,
    ) -> Result<(), StoreError> {
        let number = self.newest + 1;
        batch.insert(commits, KEY, number.to_be_bytes());
        batch.commit().map_err(backend)?;
        self.newest = number;
        let recorded = self.write(number).and_then(|()| {
            if self.last_sync.elapsed() >= MARK_SYNC_INTERVAL {
                self.last_sync = Instant::now();
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(err) = recorded {
            tracing::warn!(mark = %self.path.display(), %err, "cannot record the commit mark");
        }
        Ok(())
    }

    /// Writes `number` (and its complement) at the start of the file.
    fn write(&self, number: u64) -> std::io::Result<()> {
        let mut record = [0u8; 16];
        record[..8].copy_from_slice(&number.to_be_bytes());
        record[8..].copy_from_slice(&(!number).to_be_bytes());
        self.file.write_all_at(&record, 0)
    }
}

impl Drop for CommitMark {
    fn drop(&mut self) {
        if let Err(err) = self.file.sync_data() {
            tracing::warn!(mark = %self.path.display(), %err, "cannot sync the commit mark");
        }
    }
}

/// The problem with a store whose mark says `marked` and whose journal recovered `recovered`,
/// if any.
fn check(path: &Path, marked: Mark, recovered: u64) -> Option<String> {
    match marked {
        Mark::Missing => None,
        Mark::Unreadable => Some(format!(
            "the commit mark {} is unreadable, so whether the journal lost acknowledged writes \
             cannot be told (the recovered store holds commit {recovered})",
            path.display()
        )),
        Mark::At(marked) if marked > recovered => Some(format!(
            "the embedded journal lost acknowledged writes: commit {marked} was durable, but \
             recovery ended at commit {recovered} ({} commits lost; fjall truncates its journal \
             at a corrupt entry)",
            marked - recovered
        )),
        Mark::At(_) => None,
    }
}

/// What the mark file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// No file: a new store, or one from before the mark existed.
    Missing,
    /// Not a mark (wrong length or checksum).
    Unreadable,
    /// The number of the newest commit known durable.
    At(u64),
}

/// Reads the mark file at `path`.
fn read_mark(path: &Path) -> Result<Mark, StoreError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Mark::Missing),
        Err(e) => return Err(io_error(path, &e)),
    };
    let mut bytes = Vec::with_capacity(16);
    file.read_to_end(&mut bytes)
        .map_err(|e| io_error(path, &e))?;
    let Ok(record) = <[u8; 16]>::try_from(bytes.as_slice()) else {
        return Ok(Mark::Unreadable);
    };
    let number = u64::from_be_bytes(record[..8].try_into().unwrap_or_default());
    let complement = u64::from_be_bytes(record[8..].try_into().unwrap_or_default());
    Ok(if number == !complement {
        Mark::At(number)
    } else {
        Mark::Unreadable
    })
}

/// The number of the newest commit the recovered database holds (0 for a new store).
fn recovered(commits: &Keyspace) -> Result<u64, StoreError> {
    let Some(bytes) = commits.get(KEY).map_err(backend)? else {
        return Ok(0);
    };
    let bytes: [u8; 8] = bytes
        .as_ref()
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("commit number: {bytes:?}")))?;
    Ok(u64::from_be_bytes(bytes))
}

/// An I/O error on the mark file.
fn io_error(path: &Path, err: &std::io::Error) -> StoreError {
    StoreError::Backend(format!("commit mark {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_ahead_of_the_journal_is_a_loss_and_names_both_commits() {
        let problem = check(Path::new("m"), Mark::At(100), 49).unwrap();
        assert!(problem.contains("commit 100 was durable"), "{problem}");
        assert!(problem.contains("recovery ended at commit 49"), "{problem}");
        assert!(problem.contains("51 commits lost"), "{problem}");
    }

    #[test]
    fn a_lagging_or_missing_mark_is_no_loss() {
        assert_eq!(check(Path::new("m"), Mark::At(7), 9), None);
        assert_eq!(check(Path::new("m"), Mark::At(9), 9), None);
        assert_eq!(check(Path::new("m"), Mark::Missing, 9), None);
        assert!(check(Path::new("m"), Mark::Unreadable, 9).is_some());
    }

    #[test]
    fn the_mark_file_round_trips_and_rejects_a_torn_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MARK_FILE);
        assert_eq!(read_mark(&path).unwrap(), Mark::Missing);
        let mut record = [0u8; 16];
        record[..8].copy_from_slice(&41u64.to_be_bytes());
        record[8..].copy_from_slice(&(!41u64).to_be_bytes());
        std::fs::write(&path, record).unwrap();
        assert_eq!(read_mark(&path).unwrap(), Mark::At(41));
        record[15] ^= 1;
        std::fs::write(&path, record).unwrap();
        assert_eq!(read_mark(&path).unwrap(), Mark::Unreadable);
        std::fs::write(&path, &record[..8]).unwrap();
        assert_eq!(read_mark(&path).unwrap(), Mark::Unreadable);
    }
}
