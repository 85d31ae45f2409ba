//! The private PostgreSQL cluster used when `DATABASE_URL` is unset: created
//! under `$KPI_ARENA_DATA/pg` on first start with the machine's own PostgreSQL
//! binaries, reused afterwards, stopped by whoever started it.
//!
//! PostgreSQL refuses to run as root, so when we are root (containers, CI) its
//! processes run as the `postgres` system user and the cluster directory is
//! owned by that user.
//!
//! The data directory is private (0700) and the password files are 0600 from
//! the moment they exist. The cluster's superuser is `postgres` (its password in
//! `pg-admin-password`, used only here, to create the app's role); the app
//! connects as `kpi_arena`, which owns its database and schema but is no
//! superuser (it may create databases: the tests make one each). A cluster made
//! by an older version (no `pg-admin-password`) keeps `kpi_arena` as its
//! superuser: move such data with pg_dump into a new cluster.

use nix::unistd::{chown, geteuid, User};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("no PostgreSQL server binaries found (looked for initdb and pg_ctl in $KPI_ARENA_PG_BIN, `pg_config --bindir`, /usr/lib/postgresql/*/bin and PATH); install PostgreSQL (Debian: apt-get install postgresql) or set DATABASE_URL")]
    NoBinaries,
    #[error("running as root needs an unprivileged `postgres` system user for the embedded PostgreSQL (initdb refuses root); create one (useradd postgres) or set DATABASE_URL")]
    NoPostgresUser,
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
}

/// A running cluster and how to reach it.
#[derive(Debug)]
pub struct Cluster {
    pg_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<User>,
    port: u16,
    password: String,
    /// The superuser's password (`None`: an older cluster whose superuser is `kpi_arena`).
    admin_password: Option<String>,
    started_here: bool,
}

impl Cluster {
    /// Creates the cluster under `data_dir` if it does not exist and starts it
    /// unless it is already running (another command of ours may have started it).
    pub fn ensure(data_dir: &Path) -> Result<Cluster, ClusterError> {
        let bin_dir = find_bin_dir().ok_or(ClusterError::NoBinaries)?;
        let run_as = if geteuid().is_root() {
            Some(User::from_name("postgres").ok().flatten().ok_or(ClusterError::NoPostgresUser)?)
        } else {
            None
        };
        std::fs::create_dir_all(data_dir).map_err(|e| io(format!("creating {}", data_dir.display()), e))?;
        let data_dir = data_dir.canonicalize().map_err(|e| io(format!("resolving {}", data_dir.display()), e))?;
        // Private: only its owner (the server's user when we are root; root passes anyway) may enter.
        set_mode(&data_dir, 0o700);
        if let Some(user) = &run_as {
            chown(data_dir.as_path(), Some(user.uid), Some(user.gid))
                .map_err(|e| io(format!("giving {} to postgres", data_dir.display()), e.into()))?;
        }
        let pg_dir = data_dir.join("pg");
        let password_file = data_dir.join("pg-password");
        let admin_file = data_dir.join("pg-admin-password");
        let mut cluster = Cluster {
            pg_dir,
            bin_dir,
            run_as,
            port: 0,
            password: String::new(),
            admin_password: None,
            started_here: false,
        };

        if !cluster.pg_dir.join("PG_VERSION").exists() {
            cluster.init(&password_file, &admin_file)?;
        }
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map(|t| t.trim().to_string())
                .map_err(|e| io(format!("reading {}", path.display()), e))
        };
        cluster.password = read(&password_file)?;
        cluster.admin_password = if admin_file.exists() { Some(read(&admin_file)?) } else { None };

        if let Some(port) = cluster.running_port() {
            cluster.port = port;
        } else {
            cluster.start()?;
        }
        Ok(cluster)
    }

    /// The URL of database `name` in this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://kpi_arena:{}@127.0.0.1:{}/{}", self.password, self.port, name)
    }

    /// Where its server and client programs are.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Stops the cluster if this process started it.
    pub fn stop_if_started_here(&self) {
        if self.started_here {
            self.stop();
        }
    }

    /// Stops the cluster (fast shutdown: open sessions are closed).
    pub fn stop(&self) {
        let pg_dir = self.pg_dir.to_string_lossy().to_string();
        if let Err(e) = self.pg("pg_ctl", &["stop", "-D", &pg_dir, "-m", "fast", "-w"]) {
            tracing::warn!("stopping the embedded PostgreSQL: {e}");
        }
    }

    fn init(&self, password_file: &Path, admin_file: &Path) -> Result<(), ClusterError> {
        use rand::distributions::{Alphanumeric, DistString};
        let admin_password = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
        let app_password = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
        let parent = self.pg_dir.parent().expect("pg dir has a parent");
        // initdb wants an empty directory it can write, and reads the superuser
        // password from a file it can read: both belong to the server's user.
        let init_pw = parent.join("pg-init-password");
        write_private(&init_pw, &admin_password)?;
        let _ = std::fs::remove_dir_all(&self.pg_dir);
        std::fs::create_dir_all(&self.pg_dir).map_err(|e| io(format!("creating {}", self.pg_dir.display()), e))?;
        set_mode(&self.pg_dir, 0o700);
        if let Some(user) = &self.run_as {
            for path in [&self.pg_dir, &init_pw] {
                chown(path.as_path(), Some(user.uid), Some(user.gid))
                    .map_err(|e| io(format!("giving {} to postgres", path.display()), e.into()))?;
            }
        }
        let result = self.pg(
            "initdb",
            &[
                "-D",
                &self.pg_dir.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                &format!("--pwfile={}", init_pw.display()),
            ],
        );
        let _ = std::fs::remove_file(&init_pw);
        result?;
        write_private(admin_file, &admin_password)?;
        write_private(password_file, &app_password)?;
        Ok(())
    }

    fn start(&mut self) -> Result<(), ClusterError> {
        let port = free_port()?;
        let pg_dir = self.pg_dir.to_string_lossy().to_string();
        let log = self.pg_dir.join("server.log");
        // Listen on loopback only; no Unix socket, so no socket directory to own. After an unclean
        // stop, PostgreSQL recovers before it accepts connections: that can take minutes.
        let options = format!("-p {port} -h 127.0.0.1 -k ''");
        self.pg("pg_ctl", &["start", "-D", &pg_dir, "-w", "-t", "600", "-l", &log.to_string_lossy(), "-o", &options])?;
        self.port = port;
        self.started_here = true;
        self.ensure_database("kpi_arena")?;
        Ok(())
    }

    fn ensure_database(&self, name: &str) -> Result<(), ClusterError> {
        let port = self.port.to_string();
        let Some(admin) = &self.admin_password else {
            // An older cluster: `kpi_arena` is its superuser. `createdb` fails when the
            // database exists; that is the only failure we accept here.
            let out =
                self.pg_output("createdb", &["-h", "127.0.0.1", "-p", &port, "-U", "kpi_arena", name], &self.password)?;
            return if out.status.success() || String::from_utf8_lossy(&out.stderr).contains("already exists") {
                Ok(())
            } else {
                Err(command_error("createdb", &out))
            };
        };
        // The app's role: it logs in, owns its database, may create databases (the tests'), and is no superuser.
        let role = format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kpi_arena') THEN
                 CREATE ROLE kpi_arena LOGIN CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD '{}';
               END IF;
             END $$",
            self.password
        );
        let psql = |sql: &str| {
            let args = [
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
                sql,
            ];
            self.pg_output("psql", &args, admin)
        };
        let out = psql(&role)?;
        if !out.status.success() {
            return Err(command_error("psql (creating the app's role)", &out));
        }
        let out = psql(&format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"))?;
        if String::from_utf8_lossy(&out.stdout).trim() != "1" {
            let out = psql(&format!("CREATE DATABASE {name} OWNER kpi_arena"))?;
            if !out.status.success() {
                return Err(command_error("psql (creating the database)", &out));
            }
        }
        Ok(())
    }

    /// The port of the postmaster running on this cluster, if one is.
    fn running_port(&self) -> Option<u16> {
        let pg_dir = self.pg_dir.to_string_lossy().to_string();
        let status = self.pg_output("pg_ctl", &["status", "-D", &pg_dir], "").ok()?;
        if !status.status.success() {
            return None;
        }
        let pid_file = std::fs::read_to_string(self.pg_dir.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn pg(&self, program: &str, args: &[&str]) -> Result<(), ClusterError> {
        let out = self.pg_output(program, args, self.admin_password.as_deref().unwrap_or(&self.password))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(command_error(program, &out))
        }
    }

    fn pg_output(&self, program: &str, args: &[&str], password: &str) -> Result<Output, ClusterError> {
        let mut cmd = Command::new(self.bin_dir.join(program));
        cmd.args(args).env("PGPASSWORD", password).env_remove("PGDATA");
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw()).env("HOME", &user.dir).current_dir("/");
        }
        cmd.output().map_err(|e| io(format!("running {program}"), e))
    }
}

fn command_error(program: &str, out: &Output) -> ClusterError {
    let mut detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if detail.is_empty() {
        detail = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    ClusterError::Command { what: program.to_string(), detail }
}

fn io(what: String, e: std::io::Error) -> ClusterError {
    ClusterError::Io(what, e)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// Writes a secret to a file that is 0600 from the moment it exists.
fn write_private(path: &Path, text: &str) -> Result<(), ClusterError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(format!("creating {}", path.display()), e))?;
    file.write_all(text.as_bytes()).map_err(|e| io(format!("writing {}", path.display()), e))
}

fn free_port() -> Result<u16, ClusterError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| io("finding a free port".into(), e))?;
    Ok(listener.local_addr().map_err(|e| io("finding a free port".into(), e))?.port())
}

/// Where the installed PostgreSQL server binaries are, newest version first.
fn find_bin_dir() -> Option<PathBuf> {
    find_dir(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

/// Where the newest installed PostgreSQL client programs (pg_dump, pg_restore, psql) are.
pub fn find_client_dir() -> Option<PathBuf> {
    find_dir(|dir| dir.join("pg_dump").is_file() && dir.join("pg_restore").is_file() && dir.join("psql").is_file())
}

fn find_dir(wanted: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("KPI_ARENA_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| wanted(d));
    }
    let mut candidates = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .collect();
        versions.sort_by(|a, b| b.0.cmp(&a.0));
        candidates.extend(versions.into_iter().map(|(_, p)| p));
    }
    candidates.push(PathBuf::from("/usr/local/pgsql/bin"));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates.into_iter().find(|d| wanted(d))
}
