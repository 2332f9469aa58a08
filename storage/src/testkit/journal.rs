//! Corrupting the embedded store's journal the way fjall recovers from silently: the tag of a
//! batch's start marker in the middle of the journal (see `examples/fjall_mid_journal_truncation.rs`).

use std::path::{Path, PathBuf};

/// Every `.jnl` file under `dir`.
fn journals(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("store directory readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            found.extend(journals(&path));
        } else if path.extension().is_some_and(|ext| ext == "jnl") {
            found.push(path);
        }
    }
    found
}

/// Flips the tag of the start marker of the journal batch (of `items` items) that holds
/// `needle`, in the store under `dir`: fjall's recovery then truncates the journal there and
/// drops every later batch. (A flipped byte inside an item fails the batch checksum instead,
/// and fjall refuses to open on its own.)
///
/// # Panics
/// If no journal under `dir` holds `needle` after such a marker.
pub fn corrupt_journal_before(dir: &Path, needle: &[u8], items: u32) {
    let mut start_marker = vec![1u8];
    start_marker.extend_from_slice(&items.to_le_bytes());
    for path in journals(dir) {
        let mut bytes = std::fs::read(&path).expect("journal readable");
        let Some(item) = bytes.windows(needle.len()).position(|w| w == needle) else {
            continue;
        };
        let start = bytes[..item]
            .windows(start_marker.len())
            .rposition(|w| w == start_marker)
            .expect("a batch start before the item");
        bytes[start] = 0xFF;
        std::fs::write(&path, bytes).expect("journal writable");
        return;
    }
    panic!("{needle:?} is in no journal under {}", dir.display());
}
