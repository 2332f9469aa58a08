//! One `tally run` node of a test cluster as a child process: JSON log lines captured for the
//! test to await and inspect, and the signals an operator or a fault sends (`kill -9`,
//! `kill -STOP`, `kill -CONT`).

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::watch;

use super::super::{ADMIN_TOKEN, JWT_SECRET, PATIENCE};

/// Everything a node logged so far (one JSON object per line, `fields` flattened into the
/// object), and a counter that moves with every line so tests can await one.
#[derive(Debug, Clone)]
pub struct Logs {
    lines: Arc<Mutex<Vec<Value>>>,
    count: watch::Sender<usize>,
}

impl Logs {
    fn new() -> Self {
        Self {
            lines: Arc::default(),
            count: watch::channel(0).0,
        }
    }

    fn push(&self, line: Value) {
        let mut lines = self.lines.lock().unwrap();
        lines.push(line);
        self.count.send_replace(lines.len());
    }

    /// The lines logged so far that satisfy `matches`.
    pub fn matching(&self, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|line| matches(line))
            .cloned()
            .collect()
    }

    /// Waits until a line satisfying `matches` was logged and returns it.
    ///
    /// # Panics
    /// If none is within [`PATIENCE`], naming `what`.
    pub async fn await_line(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let mut count = self.count.subscribe();
        let waited = tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(line) = self.matching(&matches).into_iter().next() {
                    return line;
                }
                count
                    .changed()
                    .await
                    .expect("the log reader lives with the node");
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("no log line {what} within {PATIENCE:?}"))
    }
}

/// The message of a log line.
pub fn message(line: &Value) -> &str {
    line["message"].as_str().unwrap_or_default()
}

/// A field of a log line as text (strings unquoted).
pub fn field(line: &Value, name: &str) -> Option<String> {
    match &line[name] {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// A running `tally run` child process.
#[derive(Debug)]
pub struct NodeProcess {
    child: Child,
    /// Its HTTP address.
    pub addr: SocketAddr,
    /// What it logged.
    pub logs: Logs,
}

impl NodeProcess {
    /// Starts `tally run` with `env` (on top of the test's admin token and JWT secret) and JSON
    /// logs, and waits for its `listening` line.
    ///
    /// # Panics
    /// If it exits before listening (with everything it logged) or does not listen in time.
    pub fn start(env: &[(String, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .arg("run")
            .env("TALLY_AUTH__ADMIN_TOKEN", ADMIN_TOKEN)
            .env("TALLY_AUTH__JWT_SECRET", JWT_SECRET)
            .env("TALLY_LOG__FILTER", "info,fjall=warn,lsm_tree=warn")
            .env("TALLY_LOG__FORMAT", "json")
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tally binary starts");
        let stderr = child.stderr.take().unwrap();
        let logs = Logs::new();
        let (listening, heard) = std::sync::mpsc::channel();
        let reader_logs = logs.clone();
        std::thread::spawn(move || {
            let mut unparsed = Vec::new();
            for text in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let Ok(Value::Object(mut line)) = serde_json::from_str::<Value>(&text) else {
                    unparsed.push(text);
                    continue;
                };
                if let Some(Value::Object(fields)) = line.remove("fields") {
                    line.extend(fields);
                }
                let line = Value::Object(line);
                if message(&line) == "listening"
                    && let Some(addr) = field(&line, "addr")
                {
                    let _ = listening.send(Ok(addr));
                }
                reader_logs.push(line);
            }
            let _ = listening.send(Err(unparsed.join("\n")));
        });
        match heard.recv_timeout(PATIENCE) {
            Ok(Ok(addr)) => Self {
                child,
                addr: addr.parse().expect("address parses"),
                logs,
            },
            Ok(Err(unparsed)) => {
                let status = child.wait().expect("child reaped");
                let logged: Vec<String> = logs
                    .matching(|_| true)
                    .iter()
                    .map(Value::to_string)
                    .collect();
                panic!(
                    "tally exited before listening ({status}):\n{}\n{unparsed}",
                    logged.join("\n")
                )
            }
            Err(_) => panic!("tally did not listen within {PATIENCE:?}"),
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`) with `kill`.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIG{signal} sent");
    }

    /// `kill -9`, and waits until it is gone.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("child reaped");
    }

    /// `kill -TERM` and waits until it exited; its exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.child.wait().expect("child reaped")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
