//! [`PostgresServer`]: a throw-away PostgreSQL server for tests.
//!
//! `initdb` into a new temporary directory, then `postgres` on a free loopback port (`fsync`
//! on). TCP takes passwords (SCRAM); the Unix socket, in that directory (mode 0700, so only the
//! server's user and root reach it), trusts its peers: the tests connect through it, because a
//! SCRAM handshake costs ~0.2 s of CPU in an unoptimized test build. As root, both run as the
//! unprivileged user `tally-test` (created if missing) through `setpriv`. Each test binary
//! shares one server ([`PostgresServer::shared`]) and each test takes a fresh database
//! ([`PostgresServer::create_database`]), so tests stay independent and run in parallel.
//!
//! Stopping: a dropped server is shut down (fast shutdown) and its directory removed. The shared
//! one lives in a `static`, which is never dropped, so a small watchdog (`sh`) does the same when
//! the test process exits, however it exits: it waits for end-of-file on a pipe only this
//! process holds open.
//!
//! Missing binaries fail the test with the command that installs them; nothing is skipped.
//!
//! Outages: [`PostgresServer::stop_keeping_data`] shuts a server down (fast shutdown) and keeps
//! its data directory; [`PostgresServer::restart`] starts it again on the same port and data.

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
use crate::PostgresConfig;

/// The bootstrap superuser of the test server.
pub const SUPERUSER: &str = "tally_admin";
/// The role that owns tally's schema in test databases (runs the migrations).
pub const OWNER_ROLE: &str = "tally_owner";
/// The role tally's queries run as in test databases: no SUPERUSER, no BYPASSRLS.
pub const APP_ROLE: &str = "tally_app";

/// How long the server may take to accept connections.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// A running PostgreSQL server owned by the tests.
#[derive(Debug)]
pub struct PostgresServer {
    dir: PathBuf,
    port: u16,
    password: String,
    postmaster: Mutex<Option<Child>>,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
    next_database: AtomicU64,
    bindir: PathBuf,
    run_as: Option<RunAs>,
    /// Stopped by [`PostgresServer::stop_keeping_data`] and not restarted: no watchdog is left
    /// to remove the directory.
    stopped_for_restart: std::sync::atomic::AtomicBool,
}

/// A fresh database on a [`PostgresServer`], owned by [`OWNER_ROLE`].
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    dir: PathBuf,
    port: u16,
    password: String,
}

impl PostgresServer {
    /// The server shared by every test of this process, started by the first caller.
    ///
    /// # Panics
    /// If the server cannot be started (binaries missing: the message says how to install
    /// them), in every test that asks for it.
    pub async fn shared() -> &'static PostgresServer {
        static SERVER: tokio::sync::OnceCell<Result<PostgresServer, String>> =
            tokio::sync::OnceCell::const_new();
        match SERVER.get_or_init(Self::start).await {
            Ok(server) => server,
            Err(message) => panic!("cannot start the test PostgreSQL server: {message}"),
        }
    }

    /// Starts a server of its own (stopped when dropped).
    ///
    /// # Errors
    /// Why it could not start, with `initdb`'s output or the server's log.
    pub async fn start() -> Result<PostgresServer, String> {
        let (dir, password, run_as, bindir) = tokio::task::spawn_blocking(init)
            .await
            .map_err(|e| format!("initdb task failed: {e}"))??;
        let mut last_error = String::new();
        // A port found free can be taken before postgres binds it: then try another.
        for _ in 0..3 {
            let port = host::free_port()?;
            let server = PostgresServer {
                dir: dir.clone(),
                port,
                password: password.clone(),
                postmaster: Mutex::new(None),
                watchdog: Mutex::new(None),
                next_database: AtomicU64::new(0),
                bindir: bindir.clone(),
                run_as,
                stopped_for_restart: false.into(),
            };
            server.spawn()?;
            match server.wait_ready().await {
                Ok(()) => {
                    server.create_roles().await?;
                    return Ok(server);
                }
                Err(error) => {
                    server.stop(false);
                    last_error = error;
                }
            }
        }
        let _ = fs::remove_dir_all(&dir);
        Err(last_error)
    }

    /// Starts `postgres` and its watchdog.
    fn spawn(&self) -> Result<(), String> {
        let (bindir, run_as) = (&self.bindir, self.run_as);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("cannot open the server log: {e}"))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot open the server log: {e}"))?;
        let postmaster = host::command_as(&bindir.join("postgres"), run_as)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args(["-c", "fsync=on", "-c", "synchronous_commit=on"])
            .args(["-c", "max_connections=300", "-c", "logging_collector=off"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        let watchdog = host::watchdog("tally-pg-watchdog", "-INT", postmaster.id(), &self.dir)?;
        *self.postmaster.lock().unwrap_or_else(|e| e.into_inner()) = Some(postmaster);
        *self.watchdog.lock().unwrap_or_else(|e| e.into_inner()) = Some(watchdog);
        Ok(())
    }

    /// Polls until the server accepts a connection, it exits, or the deadline passes.
    async fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Some(status) = host::exit_status(&self.postmaster) {
                return Err(self.failure(&format!("postgres exited ({status})")));
            }
            match tokio_postgres::connect(&self.url(SUPERUSER, "postgres"), tokio_postgres::NoTls)
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() > deadline => {
                    return Err(self.failure(&format!(
                        "postgres did not accept connections within {STARTUP_DEADLINE:?}: {error}"
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// A start-up failure with the end of the server's log.
    fn failure(&self, what: &str) -> String {
        format!(
            "{what}; server log {}:\n{}",
            self.log_path().display(),
            host::tail(&self.log_path(), 60)
        )
    }

    /// Creates the owner and runtime roles the tests connect as.
    async fn create_roles(&self) -> Result<(), String> {
        let client = self.superuser_client("postgres").await?;
        let password = &self.password;
        client
            .batch_execute(&format!(
                "CREATE ROLE {OWNER_ROLE} LOGIN PASSWORD '{password}';
                 CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{password}';"
            ))
            .await
            .map_err(|e| format!("cannot create the test roles: {e}"))
    }

    /// A superuser connection to `database` (its driver task runs on the current runtime).
    ///
    /// # Errors
    /// If the server cannot be reached.
    pub async fn superuser_client(&self, database: &str) -> Result<tokio_postgres::Client, String> {
        let (client, connection) =
            tokio_postgres::connect(&self.url(SUPERUSER, database), tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("cannot connect as {SUPERUSER}: {e}"))?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// Creates a new, empty database owned by [`OWNER_ROLE`].
    ///
    /// # Panics
    /// If the server refuses.
    pub async fn create_database(&self) -> TestDatabase {
        let name = format!(
            "tally_test_{}",
            self.next_database.fetch_add(1, Ordering::Relaxed)
        );
        let client = self.superuser_client("postgres").await.unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {OWNER_ROLE}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
        TestDatabase {
            name,
            dir: self.dir.clone(),
            port: self.port,
            password: self.password.clone(),
        }
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// The connection string of `role` (one of this module's roles) to `database`, through
    /// the Unix socket.
    pub fn url(&self, role: &str, database: &str) -> String {
        socket_url(&self.dir, self.port, role, database)
    }

    /// The URL of `role` to `database` over loopback TCP, with its password.
    pub fn tcp_url(&self, role: &str, database: &str) -> String {
        tcp_url(role, &self.password, self.port, database)
    }

    /// Shuts the server down (fast shutdown: open connections are closed, clients get errors)
    /// and keeps its data directory, for [`PostgresServer::restart`]. Blocks until it exited.
    pub fn stop_keeping_data(&self) {
        self.stop(false);
        self.stopped_for_restart.store(true, Ordering::SeqCst);
    }

    /// Starts a server stopped by [`PostgresServer::stop_keeping_data`] again, on the same
    /// port and data directory, and waits until it accepts connections.
    ///
    /// # Errors
    /// Why it could not start, with the end of the server's log.
    pub async fn restart(&self) -> Result<(), String> {
        self.spawn()?;
        self.stopped_for_restart.store(false, Ordering::SeqCst);
        self.wait_ready().await
    }

    /// Fast shutdown (SIGINT), waiting for the server to exit; then the watchdog removes the
    /// directory (unless `remove_dir` is false, to retry on the same data directory).
    fn stop(&self, remove_dir: bool) {
        if let Some(mut child) = self
            .postmaster
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            if child.wait().is_err() {
                let _ = child.kill();
            }
        }
        if let Some((mut watchdog, stdin)) = self
            .watchdog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            if remove_dir {
                drop(stdin);
                let _ = watchdog.wait();
            } else {
                let _ = watchdog.kill();
                let _ = watchdog.wait();
                drop(stdin);
            }
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop(true);
        if self.stopped_for_restart.load(Ordering::SeqCst) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl TestDatabase {
    /// The connection string of `role` ([`OWNER_ROLE`], [`APP_ROLE`] or [`SUPERUSER`]) to this
    /// database, through the server's Unix socket.
    pub fn url(&self, role: &str) -> String {
        socket_url(&self.dir, self.port, role, &self.name)
    }

    /// The URL of `role` to this database over loopback TCP, with its password.
    pub fn tcp_url(&self, role: &str) -> String {
        tcp_url(role, &self.password, self.port, &self.name)
    }

    /// The two-role configuration: queries as [`APP_ROLE`], migrations as [`OWNER_ROLE`], a
    /// small pool.
    pub fn config(&self) -> PostgresConfig {
        PostgresConfig {
            migrate_url: Some(self.url(OWNER_ROLE)),
            pool_size: 8,
            ..PostgresConfig::new(self.url(APP_ROLE))
        }
    }

    /// A connection as `role` (its driver task runs on the current runtime).
    ///
    /// # Panics
    /// If the server refuses.
    pub async fn client(&self, role: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url(role), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {} as {role}: {e}", self.name));
        tokio::spawn(connection);
        client
    }
}

/// A loopback TCP URL with a password.
fn tcp_url(role: &str, password: &str, port: u16, database: &str) -> String {
    format!("postgres://{role}:{password}@127.0.0.1:{port}/{database}")
}

/// A connection string through the Unix socket in `dir`.
fn socket_url(dir: &Path, port: u16, role: &str, database: &str) -> String {
    format!(
        "host={} port={port} user={role} dbname={database}",
        dir.display()
    )
}

/// Makes the directory, the password and the cluster (`initdb`); blocking.
fn init() -> Result<(PathBuf, String, Option<RunAs>, PathBuf), String> {
    let bindir = host::find_bindir()?;
    let run_as = if host::running_as_root() {
        Some(host::ensure_test_user()?)
    } else {
        None
    };
    let dir = host::temp_dir("pg", run_as)?;
    let password = host::random_password()?;
    let pwfile = dir.join("pwfile");
    fs::write(&pwfile, &password).map_err(|e| format!("cannot write the password file: {e}"))?;
    host::chown(&pwfile, run_as)?;
    let initdb = host::run(
        host::command_as(&bindir.join("initdb"), run_as)
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                "-U",
                SUPERUSER,
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
            ])
            .arg("--encoding=UTF8")
            .args(["--locale=C", "--no-sync", "--no-instructions"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .current_dir(&dir),
    );
    let _ = fs::remove_file(&pwfile);
    if let Err(error) = initdb {
        let _ = fs::remove_dir_all(&dir);
        return Err(error);
    }
    Ok((dir, password, run_as, bindir))
}
