//! The demo organisation: a deterministic year of sales history (`history`), its
//! one-transaction loader, the default points rules, and the demo logins.

mod history;

pub use history::demo_records;
use sqlx::PgPool;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "demo-arena";

/// One of the accounts the sign-in page offers for trying the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoLogin {
    pub role: &'static str,
    pub email: &'static str,
}

pub const DEMO_LOGINS: [DemoLogin; 3] = [
    DemoLogin { role: "rep", email: "rep@demo.kpi-arena.local" },
    DemoLogin { role: "manager", email: "manager@demo.kpi-arena.local" },
    DemoLogin { role: "admin", email: "admin@demo.kpi-arena.local" },
];

/// The demo organisation's time zone unless `kpi-arena demo --time-zone` names another.
pub const DEMO_TIME_ZONE: chrono_tz::Tz = chrono_tz::Europe::Moscow;

/// Loads (or reloads: ids are deterministic, so this upserts) the demo as of
/// today in `zone`, the organisation's time zone; returns how many records were written.
pub async fn load_demo(pool: &PgPool, zone: chrono_tz::Tz) -> Result<usize, sqlx::Error> {
    let now = domain::clock::now();
    let today = now.with_timezone(&zone).date_naive();
    let records = demo_records(now, zone);
    // Hash once, before the transaction: argon2 is slow and must not hold a connection open.
    let hash = store::users::hash_password(DEMO_PASSWORD.to_string()).await;
    let mut tx = pool.begin().await?;
    store::records::upsert_records(&mut tx, &records).await?;
    // Starter targets for this month and the last, so every card shows attainment.
    // DO NOTHING keeps what a manager has changed since.
    let this_month = domain::period::Period::containing(domain::period::PeriodKind::Month, today);
    let periods = vec![this_month.to_string(), this_month.previous().to_string()];
    store::demo::settle(&mut tx, &hash, zone.name(), &periods).await?;
    tx.commit().await?;
    store::points::recompute_all(pool).await?;
    store::badges::evaluate(pool).await?;
    Ok(records.len())
}

/// Deletes the demo organisation completely (`kpi-arena demo --remove`): the
/// demo accounts and everything of theirs, the demo's teams and catalogue.
/// Real users and their records stay; their pages re-read.
pub async fn remove_demo(pool: &PgPool) -> Result<store::demo::Removed, sqlx::Error> {
    use domain::records::Kind;
    // The demo's teams, products, competitor prices and costs by their ids; its other records go with their owners.
    let catalogue: Vec<(Kind, String)> = demo_records(domain::clock::now(), DEMO_TIME_ZONE)
        .iter()
        .filter(|r| matches!(r.kind(), Kind::Team | Kind::Product | Kind::CompetitorPrice | Kind::Cost))
        .map(|r| (r.kind(), r.id().to_string()))
        .collect();
    let removed = store::demo::remove(pool, &catalogue).await?;
    crate::live::notify(pool, &crate::live::LiveEvent::Changed).await?;
    Ok(removed)
}

/// Whether an account that anyone can sign in to exists: a demo account still
/// carrying the published password. `serve` refuses to listen beyond this
/// machine while one does.
pub async fn published_password_in_use(pool: &PgPool) -> Result<bool, sqlx::Error> {
    for hash in store::demo::active_hashes(pool).await? {
        if store::users::verify_password(DEMO_PASSWORD.to_string(), hash).await {
            return Ok(true);
        }
    }
    Ok(false)
}
