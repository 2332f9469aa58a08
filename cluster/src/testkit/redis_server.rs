//! A `redis-server` started by a test on a free loopback port, in a temporary directory, without
//! persistence; it can be killed (`SIGKILL`) and restarted on the same port.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to install the server, for error messages.
const INSTALL_HINT: &str = "install it with `cluster/scripts/install-redis.sh` (as root; runs `apt-get install redis-server`)";

/// Longest wait for a started server to answer.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `redis-server` owned by a test; stopped (`SIGKILL`) when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers.
    ///
    /// # Errors
    /// Why it could not start, with its log.
    pub async fn start() -> Result<RedisServer, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
        let mut server = RedisServer {
            port,
            dir,
            child: None,
        };
        server.restart().await?;
        Ok(server)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server with `SIGKILL` (like `kill -9`) and waits until it is gone. Its data
    /// is lost: there is no persistence.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (killing it first if it runs), empty, and
    /// waits until it answers.
    ///
    /// # Errors
    /// Why it could not start, with its log.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let log = self.dir.path().join("redis.log");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}; {INSTALL_HINT}"))?;
        self.child = Some(child);
        self.wait_until_ready(&log).await
    }

    /// Waits until the server answers `PING`, or fails with its log.
    async fn wait_until_ready(&mut self, log: &Path) -> Result<(), String> {
        let client = redis::Client::open(self.url()).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                return Err(format!(
                    "redis-server on port {} did not come up ({exited:?}); its log:\n{log}",
                    self.port
                ));
            }
            // Startup has no event to await but the port answering; poll it.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
