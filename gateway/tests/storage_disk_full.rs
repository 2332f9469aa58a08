//! The embedded store's disk fills up under load (a tmpfs the test mounts, filled by a file the
//! test writes): nothing is acknowledged that was not written, no tenant is quarantined, the
//! node is not ready and exits non-zero (fjall poisons itself after a failed write, so only a
//! restart with journal recovery can serve again — ARCHITECTURE.md, "A storage fault is a node
//! fault"). Once the filler is deleted, the restarted node serves again with nothing
//! acknowledged lost.
//!
//! Needs `mount -t tmpfs` (root, as in CI); elsewhere it skips with a loud line.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use support::load::{LoadSensor, eventually};
use support::outage::{assert_acknowledged_stored, metric, readyz};
use support::*;
use tally_storage::{EmbeddedStore, SharedStore};

/// Size of the filesystem the node's data directory lives on.
const DISK_SIZE: &str = "48m";

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of [`DISK_SIZE`] at `path`; `None` where mounting is not permitted.
    fn mount(path: &Path) -> Option<Self> {
        std::fs::create_dir_all(path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={DISK_SIZE}"), "tmpfs"])
            .arg(path)
            .output()
            .ok()?;
        if !mounted.status.success() {
            eprintln!(
                "SKIPPED storage_disk_full: cannot mount a tmpfs here ({}); run as root to test a full disk",
                String::from_utf8_lossy(&mounted.stderr).trim()
            );
            return None;
        }
        Some(Self {
            path: path.to_path_buf(),
        })
    }

    /// Writes `name` until the filesystem is full; returns its path.
    fn fill(&self, name: &str) -> PathBuf {
        let path = self.path.join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0xA5u8; 64 * 1024];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) if err.raw_os_error() == Some(28) => break, // ENOSPC
                Err(err) => panic!("filling the disk: {err}"),
            }
        }
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// The status of `/readyz`, `None` if the node no longer answers.
async fn readyz_if_listening(api: &Api) -> Option<u16> {
    let response = reqwest::Client::new()
        .get(format!("{}/readyz", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_acknowledges_nothing_unwritten_quarantines_nobody_and_a_restart_serves_again()
{
    let (_dir, root) = temp_dir();
    let Some(disk) = SmallDisk::mount(&root.join("disk")) else {
        return;
    };
    let data = disk.path.join("data");
    // Escalate room failures at the first repeat: if a storage fault counted as a room's own
    // failure, the tenants would be quarantined at once.
    let env: Vec<(String, String)> = [
        ("TALLY_PERSISTER__RETRY_FOR", "500ms"),
        ("TALLY_SUPERVISION__MAX_RESTARTS", "1"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();

    let mut node = ChildNode::start_with(&data, &env);
    let api = Api::new(node.addr);
    let mut keys = api.provision("acme", "hq", &["r1", "r2"]).await;
    keys.extend(api.provision("globex", "hq", &["r1"]).await);
    let sensors: Vec<LoadSensor> = keys
        .iter()
        .map(|key| LoadSensor::spawn(node.addr, key.clone()))
        .collect();
    eventually("every sensor is acknowledged", async || {
        sensors.iter().all(|s| s.acked() >= 50)
    })
    .await;

    // The disk fills up under load.
    let filler = disk.fill("filler");
    eventually("the node reports its store failed for good", async || {
        node.logged("storage failed for good")
    })
    .await;
    // From then on the node is not ready (or already gone), and it exits non-zero.
    let ready = readyz_if_listening(&api).await;
    assert_ne!(ready, Some(200), "ready after the store failed");
    eventually("the node exits", async || {
        node.child.try_wait().unwrap().is_some()
    })
    .await;
    let status = node.child.wait().unwrap();
    assert!(
        !status.success(),
        "a node whose disk is full exits non-zero: {status}"
    );
    assert!(node.logged("the store failed for good"));
    assert!(
        node.logged("No space left on device"),
        "the failure was not the full disk:\n{}",
        node.log.lock().unwrap().join("\n")
    );
    assert!(
        !node.logged("quarantined"),
        "a tenant was quarantined for a full disk:\n{}",
        node.log.lock().unwrap().join("\n")
    );
    let mut acked = Vec::new();
    for sensor in sensors {
        acked.push(sensor.stop().await);
    }
    drop(node);

    // Space is back; the process supervisor (here: the test) restarts the node.
    std::fs::remove_file(filler).unwrap();
    let node = ChildNode::start_with(&data, &env);
    let api = Api::new(node.addr);
    assert_eq!(readyz(&api).await, 200);
    let sensors: Vec<LoadSensor> = keys
        .into_iter()
        .map(|key| LoadSensor::spawn(node.addr, key))
        .collect();
    eventually("acks flow again for every sensor", async || {
        sensors.iter().zip(&acked).all(|(s, a)| s.acked() >= a + 50)
    })
    .await;
    assert_eq!(metric(&api, "tally_tenants_quarantined").await, 0.0);
    for (sensor, acked) in sensors.into_iter().zip(&mut acked) {
        *acked = sensor.stop().await;
    }
    node.kill9();

    // Every reading acknowledged, before the disk filled and after the restart, is in the
    // store with its count.
    let store: SharedStore = Arc::new(EmbeddedStore::open(&data.join("store")).unwrap());
    assert_acknowledged_stored(&store, &acked).await;
}
