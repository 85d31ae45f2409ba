//! `kpi-arena backup FILE` and `kpi-arena restore FILE`: PostgreSQL's own
//! pg_dump and pg_restore on the configured database (the embedded one too).
//!
//! A backup is pg_dump's custom format: compressed, and readable by
//! `pg_restore --list`; the file is its owner's only, and holds no sessions.
//! A restore replaces everything the app keeps (its schema `public` and the
//! sessions' schema) in one transaction: it either completes or leaves the
//! database as it was. It then applies the
//! migrations this binary knows, so a backup made by an older release comes
//! back at the current schema.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The schemas the app creates: the tables of `migrations/` and the sessions store's.
const APP_SCHEMAS: [&str; 2] = ["public", "tower_sessions"];

/// How long a restore waits for a table another session is using before it gives up.
const LOCK_WAIT: &str = "15s";

/// Where to find PostgreSQL's client programs: the embedded cluster's own, else the newest installed.
pub struct Tools {
    bin_dir: Option<PathBuf>,
}

impl Tools {
    pub fn in_dir(dir: &Path) -> Tools {
        Tools { bin_dir: Some(dir.to_path_buf()) }
    }

    /// `$KPI_ARENA_PG_BIN`, the newest `/usr/lib/postgresql/*/bin`, then `PATH`.
    pub fn installed() -> Tools {
        Tools { bin_dir: crate::embedded_pg::find_client_dir() }
    }

    fn command(&self, program: &str) -> Command {
        match &self.bin_dir {
            Some(dir) => Command::new(dir.join(program)),
            None => Command::new(program),
        }
    }
}

/// A `postgres://` URL split into the password (for `PGPASSWORD`, never on a command line,
/// where `ps` shows it) and the rest.
struct Target {
    url: String,
    password: Option<String>,
}

impl Target {
    fn parse(database_url: &str) -> anyhow::Result<Target> {
        let mut url = url::Url::parse(database_url).context("DATABASE_URL is not a URL")?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            bail!("DATABASE_URL must start with postgres://");
        }
        let password = url.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
        let _ = url.set_password(None);
        Ok(Target { url: url.to_string(), password })
    }

    fn apply(&self, cmd: &mut Command) {
        // Without a password in the URL, libpq reads PGPASSWORD (or ~/.pgpass) as sqlx does.
        if let Some(password) = &self.password {
            cmd.env("PGPASSWORD", password);
        }
    }
}

/// Writes the whole database to `file` (replacing it only when the dump succeeded). The file
/// is readable by its owner only: it holds password hashes. Sessions are left out: a restore
/// signs everyone out rather than bringing back sessions that have since ended.
pub fn backup(tools: &Tools, database_url: &str, file: &Path) -> anyhow::Result<u64> {
    let target = Target::parse(database_url)?;
    let partial = partial_path(file);
    create_private(&partial)?;
    let mut cmd = tools.command("pg_dump");
    cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--exclude-table-data=tower_sessions.session"])
        .args(["--dbname", &target.url, "--file"])
        .arg(&partial)
        .stdin(Stdio::null());
    target.apply(&mut cmd);
    if let Err(e) = run(cmd, "pg_dump") {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, file).with_context(|| format!("moving the backup to {}", file.display()))?;
    Ok(std::fs::metadata(file).map(|m| m.len()).unwrap_or(0))
}

/// Replaces the database's contents with the backup in `file`, in one transaction: psql runs
/// BEGIN, empties the app's schemas, runs what pg_restore turns the archive into, and gets
/// COMMIT only when pg_restore read the whole archive. Any failure ends the session without
/// COMMIT, and PostgreSQL rolls everything back.
///
/// Other sessions on the database (running instances) make it refuse unless `force`: their
/// caches would show the old data, and their writes would land in the restored one.
pub async fn restore(tools: &Tools, database_url: &str, file: &Path, force: bool) -> anyhow::Result<()> {
    if !file.is_file() {
        bail!("{} does not exist or is not a file", file.display());
    }
    // Read the archive's table of contents first: a file that is not a backup is refused
    // before anything in the database is touched.
    let mut list = tools.command("pg_restore");
    list.arg("--list").arg(file).stdin(Stdio::null()).stdout(Stdio::null());
    run(list, "pg_restore").with_context(|| {
        format!(
            "{} is not a backup made by `kpi-arena backup` (a pg_dump custom-format archive), or it is damaged; \
             nothing was changed",
            file.display()
        )
    })?;
    if force {
        // The other sessions are closed first: a transaction one of them holds open (a long
        // scoring pass, or one left idle) would otherwise hold the locks the restore needs.
        // Their pools connect again; what they ask then waits for the restore's locks.
        close_other_sessions(database_url).await?;
    } else {
        let others = other_sessions(database_url).await?;
        if others > 0 {
            bail!(
                "{others} other session(s) are connected to the database: stop every KPI Arena instance on it \
                 first (or restore with --force); nothing was changed"
            );
        }
    }
    let target = Target::parse(database_url)?;
    let (tools, file) = (tools.bin_dir.clone(), file.to_path_buf());
    tokio::task::spawn_blocking(move || pipe_restore(&Tools { bin_dir: tools }, &target, &file))
        .await
        .context("the restore stopped")?
}

/// How many sessions other than ours are connected to the database.
async fn other_sessions(database_url: &str) -> anyhow::Result<i64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(database_url).await.context("connecting to the database")?;
    let others = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut conn)
    .await
    .context("counting the database's sessions")?;
    let _ = conn.close().await;
    Ok(others)
}

/// `--force`: ends the other sessions of this database's role (`pg_terminate_backend`).
async fn close_other_sessions(database_url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(database_url).await.context("connecting to the database")?;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename = current_user",
    )
    .execute(&mut conn)
    .await
    .context("closing the database's other sessions")?;
    let _ = conn.close().await;
    Ok(())
}

fn pipe_restore(tools: &Tools, target: &Target, file: &Path) -> anyhow::Result<()> {
    use std::io::{BufRead, BufReader, Write};
    let mut script = tools.command("pg_restore");
    script.args(["--no-owner", "--no-privileges", "--file", "-"]).arg(file);
    let mut script = script
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running pg_restore (is PostgreSQL's client installed?)")?;
    let sql = script.stdout.take().expect("piped");
    let script_errors = drain(script.stderr.take().expect("piped"));

    let mut psql = tools.command("psql");
    psql.args(["--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname"])
        .arg(&target.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    target.apply(&mut psql);
    let mut psql = psql.spawn().context("running psql (is PostgreSQL's client installed?)")?;
    let mut input = psql.stdin.take().expect("piped");
    let psql_errors = drain(psql.stderr.take().expect("piped"));

    let mut preamble = format!("BEGIN;\nSET lock_timeout = '{LOCK_WAIT}';\n");
    for schema in APP_SCHEMAS {
        preamble.push_str(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE;\n"));
    }
    preamble.push_str("CREATE SCHEMA public;\n");
    // psql stops at the first error (ON_ERROR_STOP) and closes its input: writing then fails,
    // which is that error, reported below from psql's own words.
    let mut fed = input.write_all(preamble.as_bytes()).is_ok();
    for line in BufReader::new(sql).split(b'\n') {
        let Ok(line) = line else { break };
        // pg_restore 17 and later set an option older servers do not know.
        if !fed || line.starts_with(b"SET transaction_timeout") {
            continue;
        }
        fed = input.write_all(&line).and_then(|_| input.write_all(b"\n")).is_ok();
    }
    let dumped = script.wait().context("waiting for pg_restore")?;
    if fed && dumped.success() {
        fed = input.write_all(b"COMMIT;\n").is_ok();
    }
    drop(input);
    let applied = psql.wait().context("waiting for psql")?;
    let (script_errors, psql_errors) =
        (script_errors.join().unwrap_or_default(), psql_errors.join().unwrap_or_default());
    if psql_errors.contains("lock timeout") {
        bail!("the database is in use: stop every KPI Arena instance on it, then restore again (nothing was changed)");
    }
    if !dumped.success() {
        bail!("pg_restore could not read the whole backup; nothing was changed: {}", script_errors.trim());
    }
    if !applied.success() || !fed {
        bail!("restoring failed; nothing was changed: psql: {}", psql_errors.trim());
    }
    Ok(())
}

/// Reads a child's standard error to its end on a thread of its own, so a chatty child
/// never blocks on a full pipe while we feed or wait on another.
fn drain(mut stderr: std::process::ChildStderr) -> std::thread::JoinHandle<String> {
    use std::io::Read;
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    })
}

/// Creates `path` empty, readable and writable by its owner only (the dump then fills it).
fn create_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(())
}

fn partial_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    file.with_file_name(name)
}

fn run(mut cmd: Command, program: &str) -> anyhow::Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("running {program} (is PostgreSQL's client installed? set KPI_ARENA_PG_BIN)"))?;
    if out.status.success() {
        return Ok(());
    }
    let detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
    bail!("{program}: {}", if detail.is_empty() { format!("exited with {}", out.status) } else { detail })
}
