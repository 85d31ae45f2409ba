//! The embedded PostgreSQL: a private data directory, secrets readable by their
//! owner only, and an app role that owns its database but is no superuser.

use crate::helpers::TestApp;
use kpi_arena_server::embedded_pg::Cluster;
use std::os::unix::fs::PermissionsExt;

fn embedded() -> bool {
    std::env::var("DATABASE_URL").map(|u| u.is_empty()).unwrap_or(true)
}

#[tokio::test]
async fn the_app_connects_as_the_owner_of_its_database_not_as_a_superuser() {
    if !embedded() {
        return; // DATABASE_URL names someone else's server and role.
    }
    let app = TestApp::spawn().await;
    let (user, superuser, owner, deals_owner): (String, bool, String, String) = sqlx::query_as(
        "SELECT current_user::text, r.rolsuper, pg_get_userbyid(d.datdba)::text,
                (SELECT tableowner::text FROM pg_tables WHERE tablename = 'deals')
         FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(user, "kpi_arena");
    assert!(!superuser, "the app's role is no superuser");
    assert_eq!((owner.as_str(), deals_owner.as_str()), ("kpi_arena", "kpi_arena"), "it owns its database and tables");
    let refused = sqlx::query("ALTER SYSTEM SET work_mem = '1GB'").execute(&app.pool).await;
    assert!(refused.is_err(), "it cannot change the server's settings");
}

#[test]
fn a_new_cluster_keeps_its_files_and_passwords_private() {
    if !embedded() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-pg-private");
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = Cluster::ensure(&dir).expect("a new cluster");
    let mode = |name: &str| std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777;
    let modes = (mode(""), mode("pg"), mode("pg-password"), mode("pg-admin-password"));
    cluster.stop();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(modes, (0o700, 0o700, 0o600, 0o600));
}
