//! [`CassandraNode`]: a throw-away Apache Cassandra 5.0 node for the tests of the ScyllaDB
//! backend (Cassandra speaks the same CQL protocol through the same `scylla` driver).
//!
//! The jars come from `storage/scripts/fetch-cassandra.sh` (Maven Central, into
//! `target/cassandra/lib`, or `$TALLY_CASSANDRA_LIB`). The node gets a new temporary directory
//! with a minimal `cassandra.yaml` (free loopback ports for CQL and the storage protocol, one
//! token, small memtables and caches, commit log synced before each write is acknowledged) and a
//! `logback.xml` that logs to `system.log` there; `java` runs with the JVM flags of Cassandra's
//! own `conf/jvm17-server.options` (G1, the JPMS `--add-exports`/`--add-opens`, Netty's
//! properties), the `jamm` agent, a 512 MiB heap and the start-up shortcuts of a single node
//! (no gossip settling, no ring delay). As root it runs as the unprivileged `tally-test` user,
//! like the PostgreSQL test server.
//!
//! Each test binary shares one node ([`CassandraNode::shared`]); tests keep apart through their
//! own ids or keyspaces. A dropped node is killed and its directory removed; the shared one lives
//! in a `static`, so a watchdog (`sh`) does the same when the test process exits however it
//! exits (end-of-file on a pipe only this process holds open). A node that does not come up fails
//! the test with the end of its log.
//!
//! Missing Java or jars fail the test with the command that fetches them; nothing is skipped.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::host::{self, RunAs};
use crate::ScyllaConfig;

/// How long the node may take to answer CQL (about 15 s on two idle cores).
const STARTUP_DEADLINE: Duration = Duration::from_secs(180);

/// The JVM flags of Cassandra 5.0's `conf/jvm17-server.options` (GC, JPMS, Netty).
const JVM17_SERVER_OPTIONS: &[&str] = &[
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:G1HeapRegionSize=16m",
    "-XX:G1RSetUpdatingPauseTimePercent=5",
    "-XX:MaxGCPauseMillis=300",
    "-XX:InitiatingHeapOccupancyPercent=70",
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports",
    "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports",
    "java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports",
    "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports",
    "java.sql/java.sql=ALL-UNNAMED",
    "--add-exports",
    "java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports",
    "jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-exports",
    "jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports",
    "jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens",
    "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens",
    "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.io=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens",
    "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.lang=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.util=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
];

/// Flags of a small, fast-starting single node.
const SINGLE_NODE_OPTIONS: &[&str] = &[
    "-Xms512m",
    "-Xmx512m",
    "-Xss512k",
    "-Djava.net.preferIPv4Stack=true",
    "-Dcassandra-foreground=yes",
    "-Dcassandra.skip_wait_for_gossip_to_settle=0",
    "-Dcassandra.ring_delay_ms=0",
    "-Dcassandra.superuser_setup_delay_ms=0",
    "-Dcassandra.load_ring_state=false",
];

/// How to get the jars, for error messages.
const FETCH_HINT: &str = "fetch them with `storage/scripts/fetch-cassandra.sh` (Maven \
     Central; gateway/scripts/test.sh runs it), or point TALLY_CASSANDRA_LIB at a directory of \
     cassandra-all 5.0 and its dependencies";

/// A running Cassandra node owned by the tests.
#[derive(Debug)]
pub struct CassandraNode {
    dir: PathBuf,
    native_port: u16,
    jvm: Mutex<Option<Child>>,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
    next_keyspace: AtomicU64,
}

impl CassandraNode {
    /// The node shared by every test of this process, started by the first caller.
    ///
    /// # Panics
    /// If the node cannot be started (Java or the jars missing: the message says how to get
    /// them), in every test that asks for it.
    pub async fn shared() -> &'static CassandraNode {
        static NODE: tokio::sync::OnceCell<Result<CassandraNode, String>> =
            tokio::sync::OnceCell::const_new();
        match NODE.get_or_init(Self::start).await {
            Ok(node) => node,
            Err(message) => panic!("cannot start the test Cassandra node: {message}"),
        }
    }

    /// Starts a node of its own (killed when dropped).
    ///
    /// # Errors
    /// Why it could not start, with the end of the node's log.
    pub async fn start() -> Result<CassandraNode, String> {
        let (lib, run_as) = tokio::task::spawn_blocking(prerequisites)
            .await
            .map_err(|e| format!("start-up task failed: {e}"))??;
        let mut last_error = String::new();
        // A port found free can be taken before the JVM binds it: then try others.
        for _ in 0..3 {
            let dir = host::temp_dir("cassandra", run_as)?;
            let native_port = host::free_port()?;
            let storage_port = host::free_port()?;
            write_config(&dir, native_port, storage_port, run_as)?;
            let node = CassandraNode {
                dir,
                native_port,
                jvm: Mutex::new(None),
                watchdog: Mutex::new(None),
                next_keyspace: AtomicU64::new(0),
            };
            node.spawn(&lib, run_as)?;
            match node.wait_ready().await {
                Ok(()) => return Ok(node),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    /// Starts the JVM and its watchdog.
    fn spawn(&self, lib: &Path, run_as: Option<RunAs>) -> Result<(), String> {
        let out = fs::File::create(self.dir.join("stdout.log"))
            .map_err(|e| format!("cannot create the node's stdout log: {e}"))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open the node's stdout log: {e}"))?;
        let jamm = find_jar(lib, "jamm-")?;
        let dir = self.dir.display();
        let jvm = host::command_as(Path::new("java"), run_as)
            .args(SINGLE_NODE_OPTIONS)
            .args(JVM17_SERVER_OPTIONS)
            .arg(format!("-javaagent:{}", jamm.display()))
            .arg(format!("-Dcassandra.config=file://{dir}/cassandra.yaml"))
            .arg(format!("-Dlogback.configurationFile={dir}/logback.xml"))
            .arg(format!("-Dcassandra.logdir={dir}"))
            .arg(format!("-Dcassandra.storagedir={dir}"))
            .arg("-cp")
            .arg(format!("{}/*", lib.display()))
            .arg("org.apache.cassandra.service.CassandraDaemon")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start java: {e}"))?;
        let watchdog = host::watchdog("tally-cassandra-watchdog", "-KILL", jvm.id(), &self.dir)?;
        *self.jvm.lock().unwrap_or_else(|e| e.into_inner()) = Some(jvm);
        *self.watchdog.lock().unwrap_or_else(|e| e.into_inner()) = Some(watchdog);
        Ok(())
    }

    /// Polls until the node accepts CQL connections, the JVM exits, or the deadline passes.
    async fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Some(status) = host::exit_status(&self.jvm) {
                return Err(self.failure(&format!("java exited ({status})")));
            }
            // The native transport is the last thing a node starts: its port answers only once
            // the node serves CQL.
            match tokio::net::TcpStream::connect(("127.0.0.1", self.native_port)).await {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() > deadline => {
                    self.kill();
                    return Err(self.failure(&format!(
                        "Cassandra did not answer CQL within {STARTUP_DEADLINE:?}: {error}"
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// A start-up failure with the end of the node's logs.
    fn failure(&self, what: &str) -> String {
        format!(
            "{what}; node log {}:\n{}\nstdout:\n{}",
            self.log_path().display(),
            host::tail(&self.log_path(), 60),
            host::tail(&self.dir.join("stdout.log"), 20)
        )
    }

    /// `127.0.0.1:<port>`: the node's CQL address.
    pub fn contact_point(&self) -> String {
        format!("127.0.0.1:{}", self.native_port)
    }

    /// The node's log (Cassandra's `system.log`).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("system.log")
    }

    /// The end of the node's log, to print when a test fails.
    pub fn log_tail(&self, lines: usize) -> String {
        host::tail(&self.log_path(), lines)
    }

    /// A keyspace name used by no other test of this process.
    pub fn fresh_keyspace(&self) -> String {
        format!(
            "tally_test_{}",
            self.next_keyspace.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The backend configuration for `keyspace` on this node: replication factor 1 (one node),
    /// consistency `LOCAL_QUORUM` (which is `ONE` of one replica), data center `datacenter1`.
    pub fn config(&self, keyspace: &str) -> ScyllaConfig {
        ScyllaConfig {
            keyspace: keyspace.to_owned(),
            replication_factor: 1,
            local_datacenter: Some("datacenter1".into()),
            ..ScyllaConfig::new(vec![self.contact_point()])
        }
    }

    /// Stops the JVM with `SIGSTOP` (an unresponsive, not a dead, node), until
    /// [`CassandraNode::resume`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Continues a node stopped by [`CassandraNode::pause`].
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Sends `signal` to the JVM.
    fn signal(&self, signal: &str) {
        if let Some(child) = self.jvm.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status();
        }
    }

    /// Kills the JVM (`SIGKILL`) and waits for it; then the watchdog removes the directory.
    fn kill(&self) {
        if let Some(mut child) = self.jvm.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some((mut watchdog, stdin)) = self
            .watchdog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            drop(stdin);
            let _ = watchdog.wait();
        }
    }
}

impl Drop for CassandraNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The jar directory and the user to run as; checks that `java` runs. Blocking.
fn prerequisites() -> Result<(PathBuf, Option<RunAs>), String> {
    let lib = match std::env::var_os("TALLY_CASSANDRA_LIB") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/cassandra/lib"),
    };
    find_jar(&lib, "cassandra-all-")?;
    host::run(Command::new("java").arg("-version"))
        .map_err(|e| format!("java (17 or newer) is needed to run Cassandra: {e}"))?;
    let run_as = if host::running_as_root() {
        Some(host::ensure_test_user()?)
    } else {
        None
    };
    Ok((lib, run_as))
}

/// The jar in `lib` whose name starts with `prefix`.
fn find_jar(lib: &Path, prefix: &str) -> Result<PathBuf, String> {
    fs::read_dir(lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(prefix) && name.ends_with(".jar"))
        })
        .ok_or_else(|| format!("no {prefix}*.jar in {}; {FETCH_HINT}", lib.display()))
}

/// Writes `cassandra.yaml` and `logback.xml` into `dir`, owned by `run_as`.
fn write_config(
    dir: &Path,
    native_port: u16,
    storage_port: u16,
    run_as: Option<RunAs>,
) -> Result<(), String> {
    let d = dir.display();
    let yaml = format!(
        "cluster_name: tally-test
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
data_file_directories: [{d}/data]
commitlog_directory: {d}/commitlog
saved_caches_directory: {d}/saved_caches
hints_directory: {d}/hints
cdc_raw_directory: {d}/cdc_raw
commitlog_sync: batch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: \"127.0.0.1:{storage_port}\"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: {storage_port}
native_transport_port: {native_port}
start_native_transport: true
endpoint_snitch: SimpleSnitch
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
auto_snapshot: false
snapshot_before_compaction: false
memtable_heap_space: 64MiB
memtable_offheap_space: 64MiB
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 4
key_cache_size: 8MiB
counter_cache_size: 0MiB
index_summary_capacity: 8MiB
dynamic_snitch: false
"
    );
    let logback = format!(
        "<configuration>
  <appender name=\"FILE\" class=\"ch.qos.logback.core.FileAppender\">
    <file>{d}/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{{ISO8601}} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level=\"INFO\"><appender-ref ref=\"FILE\"/></root>
</configuration>
"
    );
    for (name, text) in [("cassandra.yaml", yaml), ("logback.xml", logback)] {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        host::chown(&path, run_as)?;
    }
    Ok(())
}
