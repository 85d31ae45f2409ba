//! `kpi-arena backup FILE` and `kpi-arena restore FILE`: PostgreSQL's own
//! pg_dump and pg_restore on the configured database (the embedded one too).
//!
//! A backup is pg_dump's custom format: compressed, and readable by
//! `pg_restore --list`. A restore replaces everything the app keeps (its
//! schema `public` and the sessions' schema) in one transaction: it either
//! completes or leaves the database as it was. It then applies the
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
        cmd.env_remove("PGDATABASE").env_remove("PGSERVICE");
        match &self.password {
            Some(password) => cmd.env("PGPASSWORD", password),
            None => cmd.env_remove("PGPASSWORD"),
        };
    }
}

/// Writes the whole database to `file` (replacing it only when the dump succeeded).
pub fn backup(tools: &Tools, database_url: &str, file: &Path) -> anyhow::Result<u64> {
    let target = Target::parse(database_url)?;
    let partial = partial_path(file);
    let mut cmd = tools.command("pg_dump");
    cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--dbname", &target.url, "--file"]).arg(&partial);
    cmd.stdin(Stdio::null());
    target.apply(&mut cmd);
    let result = run(cmd, "pg_dump");
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, file).with_context(|| format!("moving the backup to {}", file.display()))?;
    Ok(std::fs::metadata(file).map(|m| m.len()).unwrap_or(0))
}

/// Replaces the database's contents with the backup in `file`, in one transaction.
pub fn restore(tools: &Tools, database_url: &str, file: &Path) -> anyhow::Result<()> {
    if !file.is_file() {
        bail!("{} does not exist or is not a file", file.display());
    }
    // Read the archive's table of contents first: a file that is not a backup is refused
    // before anything in the database is touched.
    let mut list = tools.command("pg_restore");
    list.arg("--list").arg(file).stdin(Stdio::null()).stdout(Stdio::null());
    run(list, "pg_restore").with_context(|| {
        format!("{} is not a backup made by `kpi-arena backup` (a pg_dump custom-format archive)", file.display())
    })?;

    let target = Target::parse(database_url)?;
    // pg_restore turns the archive into SQL; psql runs it after emptying the app's schemas,
    // all as one transaction (ON_ERROR_STOP: the first error rolls everything back).
    let mut script = tools.command("pg_restore");
    script.args(["--no-owner", "--no-privileges", "--file", "-"]).arg(file).stdin(Stdio::null());
    let mut script = script
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running pg_restore (is PostgreSQL's client installed?)")?;
    let sql = script.stdout.take().expect("piped");

    let empty = APP_SCHEMAS.iter().map(|s| format!("DROP SCHEMA IF EXISTS {s} CASCADE;")).collect::<String>()
        + "CREATE SCHEMA public;";
    let mut psql = tools.command("psql");
    psql.args(["--no-psqlrc", "--quiet", "--single-transaction", "--set", "ON_ERROR_STOP=1", "--dbname"])
        .arg(&target.url)
        .args(["--command", &format!("SET lock_timeout = '{LOCK_WAIT}'")])
        .args(["--command", &empty])
        .args(["--file", "-"])
        .stdin(Stdio::from(sql))
        .stdout(Stdio::null());
    target.apply(&mut psql);
    let applied = run(psql, "psql");
    let dumped = script.wait_with_output().context("waiting for pg_restore")?;
    if let Err(e) = applied {
        if e.to_string().contains("lock timeout") {
            bail!(
                "the database is in use: stop every KPI Arena instance on it, then restore again \
                 (nothing was changed)"
            );
        }
        return Err(e.context("restoring failed; nothing was changed"));
    }
    if !dumped.status.success() {
        bail!("pg_restore: {}", String::from_utf8_lossy(&dumped.stderr).trim());
    }
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
