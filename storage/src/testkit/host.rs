//! What the PostgreSQL harness needs from the host: the server binaries, an unprivileged user
//! when the tests run as root, temporary directories and random passwords.

use std::{
    fs,
    io::Read,
    os::unix::fs::{DirBuilderExt, MetadataExt},
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

/// The user the server runs as when the tests run as root (PostgreSQL refuses to run as root).
pub(super) const TEST_USER: &str = "tally-test";

/// How to install the server binaries, for error messages.
pub(super) const INSTALL_HINT: &str = "install them with `storage/scripts/install-postgres.sh` (as \
     root; on Debian it runs `apt-get install -y postgresql`), or point TALLY_PG_BINDIR at a \
     directory holding initdb and postgres";

/// An unprivileged user to run the server binaries as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RunAs {
    /// Its user id.
    pub(super) uid: u32,
    /// Its primary group id.
    pub(super) gid: u32,
}

/// The directory holding `initdb` and `postgres`: `$TALLY_PG_BINDIR`, `pg_config --bindir`, or
/// the newest `/usr/lib/postgresql/*/bin` (Debian's layout).
pub(super) fn find_bindir() -> Result<PathBuf, String> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let mut tried = Vec::new();
    if let Some(dir) = std::env::var_os("TALLY_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        if has_server(&dir) {
            return Ok(dir);
        }
        tried.push(format!("TALLY_PG_BINDIR={}", dir.display()));
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if has_server(&dir) {
            return Ok(dir);
        }
        tried.push(format!("pg_config --bindir ({})", dir.display()));
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    tried.push("/usr/lib/postgresql/*/bin".into());
    Err(format!(
        "PostgreSQL server binaries (initdb, postgres) not found in {}; {INSTALL_HINT}",
        tried.join(", ")
    ))
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective user).
pub(super) fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// The ids of [`TEST_USER`], created as a system user if missing.
pub(super) fn ensure_test_user() -> Result<RunAs, String> {
    if let Some(run_as) = lookup_user(TEST_USER)? {
        return Ok(run_as);
    }
    let created = run(Command::new("useradd").args([
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        TEST_USER,
    ]));
    // Another test binary may have created it meanwhile: look again before failing.
    match lookup_user(TEST_USER)? {
        Some(run_as) => Ok(run_as),
        None => Err(format!(
            "cannot create the user {TEST_USER} to run test servers as (PostgreSQL and \
             Cassandra refuse to run as root): {}",
            created.err().unwrap_or_default()
        )),
    }
}

/// The ids of `user`, if it exists.
fn lookup_user(user: &str) -> Result<Option<RunAs>, String> {
    let id = |flag: &str| -> Result<Option<u32>, String> {
        let output = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| format!("cannot run id: {e}"))?;
        if !output.status.success() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&output.stdout);
        text.trim()
            .parse()
            .map(Some)
            .map_err(|e| format!("id {flag} {user} printed {text:?}: {e}"))
    };
    Ok(match (id("-u")?, id("-g")?) {
        (Some(uid), Some(gid)) => Some(RunAs { uid, gid }),
        _ => None,
    })
}

/// `program` as a command that runs as `run_as` (through `setpriv`, which execs the program
/// itself, so the child's pid is the program's).
pub(super) fn command_as(program: &Path, run_as: Option<RunAs>) -> Command {
    match run_as {
        Some(RunAs { uid, gid }) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// A watchdog (`sh`) for the server process `pid`: when its stdin reaches end-of-file (the
/// returned pipe dropped, or this process gone however it ended) it sends `signal` (`-INT`,
/// `-KILL`), waits for the server to exit and removes `dir`.
pub(super) fn watchdog(
    name: &str,
    signal: &str,
    pid: u32,
    dir: &Path,
) -> Result<(std::process::Child, std::process::ChildStdin), String> {
    let mut watchdog = Command::new("sh")
        .args([
            "-c",
            "cat >/dev/null; kill \"$2\" \"$1\" 2>/dev/null; \
             while kill -0 \"$1\" 2>/dev/null; do sleep 0.1; done; rm -rf \"$3\"",
            name,
            &pid.to_string(),
            signal,
        ])
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the watchdog: {e}"))?;
    let stdin = watchdog.stdin.take().ok_or("the watchdog has no stdin")?;
    Ok((watchdog, stdin))
}

/// How the server process in `child` exited, if it did (`None` while it runs, or if there is
/// none).
pub(super) fn exit_status(
    child: &std::sync::Mutex<Option<std::process::Child>>,
) -> Option<std::process::ExitStatus> {
    child
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .and_then(|child| child.try_wait().ok().flatten())
}

/// Runs a command to completion; its output, or an error naming it with what it printed.
pub(super) fn run(command: &mut Command) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{command:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A new, empty directory (mode 0700) named `tally-<prefix>-…` under the system's temporary
/// directory (`/tmp` when the server runs as another user), owned by `run_as`.
pub(super) fn temp_dir(prefix: &str, run_as: Option<RunAs>) -> Result<PathBuf, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // As root, $TMPDIR may be private to root; /tmp is traversable by the server's user.
    let base = match run_as {
        Some(_) => PathBuf::from("/tmp"),
        None => std::env::temp_dir(),
    };
    let dir = base.join(format!(
        "tally-{prefix}-{}-{nanos:08x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    chown(&dir, run_as)?;
    Ok(dir)
}

/// Gives `path` to `run_as` (no-op without one).
pub(super) fn chown(path: &Path, run_as: Option<RunAs>) -> Result<(), String> {
    match run_as {
        Some(RunAs { uid, gid }) => std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| format!("cannot chown {}: {e}", path.display())),
        None => Ok(()),
    }
}

/// 32 random hex digits from the kernel.
pub(super) fn random_password() -> Result<String, String> {
    let mut bytes = [0_u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
pub(super) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

/// The last `lines` lines of a file, or why it could not be read.
pub(super) fn tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
