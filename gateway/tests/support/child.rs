//! The `tally` binary as a child process: started on its own data directory (and, with
//! [`postgres_env`], on a test PostgreSQL database), `kill -9`ed by the tests.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tally_storage::testkit::{APP_ROLE, CassandraNode, OWNER_ROLE, TestDatabase};

use super::{ADMIN_TOKEN, JWT_SECRET, PATIENCE};

/// A `tally` binary running as a child process on its own data directory.
pub struct ChildNode {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    /// Every line the node logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// The environment that puts a node on `db`: queries as [`APP_ROLE`], migrations as
/// [`OWNER_ROLE`], through the server's Unix socket.
pub fn postgres_env(db: &TestDatabase) -> Vec<(String, String)> {
    [
        ("TALLY_STORAGE__BACKEND", "postgres".to_owned()),
        ("TALLY_STORAGE__POSTGRES__URL", db.url(APP_ROLE)),
        ("TALLY_STORAGE__POSTGRES__MIGRATE_URL", db.url(OWNER_ROLE)),
        ("TALLY_STORAGE__POSTGRES__POOL_SIZE", "4".to_owned()),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .into()
}

/// The environment that puts a node on `keyspace` of a test Cassandra node (one replica,
/// `LOCAL_QUORUM` in `datacenter1`).
pub fn scylla_env(node: &CassandraNode, keyspace: &str) -> Vec<(String, String)> {
    [
        ("TALLY_STORAGE__BACKEND", "scylla".to_owned()),
        (
            "TALLY_STORAGE__SCYLLA__CONTACT_POINTS",
            node.contact_point(),
        ),
        ("TALLY_STORAGE__SCYLLA__KEYSPACE", keyspace.to_owned()),
        ("TALLY_STORAGE__SCYLLA__REPLICATION_FACTOR", "1".to_owned()),
        (
            "TALLY_STORAGE__SCYLLA__LOCAL_DATACENTER",
            "datacenter1".to_owned(),
        ),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .into()
}

impl ChildNode {
    /// Starts `tally run` and waits for its `listening` log line.
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    /// As [`ChildNode::start`], with more `TALLY_*` variables.
    pub fn start_with(data_dir: &Path, env: &[(String, String)]) -> Self {
        Self::try_start(data_dir, env).unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// Starts `tally run` with more `TALLY_*` variables; the running node, or, if it exits
    /// before listening, its exit status and everything it logged.
    pub fn try_start(data_dir: &Path, env: &[(String, String)]) -> Result<Self, String> {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .arg("run")
            .env("TALLY_NODE__DATA_DIR", data_dir)
            .env("TALLY_NODE__HTTP_ADDR", "127.0.0.1:0")
            .env("TALLY_AUTH__ADMIN_TOKEN", ADMIN_TOKEN)
            .env("TALLY_AUTH__JWT_SECRET", JWT_SECRET)
            .env("TALLY_LOG__FILTER", "info")
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("tally binary starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared_log = log.clone();
        std::thread::spawn(move || {
            let mut logged = Vec::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("listening")
                    && let Some(addr) = line.split("addr=").nth(1)
                {
                    let _ = tx.send(Ok(addr.trim().to_owned()));
                }
                shared_log.lock().unwrap().push(line.clone());
                logged.push(line);
            }
            // The node exited (or closed stderr) without listening: what it said.
            let _ = tx.send(Err(logged.join("\n")));
        });
        match rx.recv_timeout(PATIENCE).expect("node listens or exits") {
            Ok(addr) => Ok(Self {
                child,
                addr: addr.parse().expect("address parses"),
                log,
            }),
            Err(logged) => {
                let status = child.wait().expect("child reaped");
                Err(format!(
                    "tally exited before listening ({status}):\n{logged}"
                ))
            }
        }
    }

    /// `kill -TERM` (what a process supervisor sends to stop it); the exit status once it has
    /// stopped.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
        self.child.wait().expect("child reaped")
    }

    /// Whether a logged line contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains(text))
    }

    /// `kill -HUP` (reload what the node reloads).
    pub fn hangup(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGHUP sent");
    }

    /// `kill -9`.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("child reaped");
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
