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
    sqlx::query("UPDATE users SET password_hash = $1 WHERE email LIKE '%@demo.kpi-arena.local'")
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE org_settings SET name = 'Северный ветер (демо)', currency = 'RUB', time_zone = $1,
           language = 'ru', demo_loaded = TRUE",
    )
    .bind(zone.name())
    .execute(&mut *tx)
    .await?;
    // Starter targets for this month and the last, so every card shows attainment.
    // DO NOTHING keeps what a manager has changed since.
    let this_month = domain::period::Period::containing(domain::period::PeriodKind::Month, today);
    let periods = vec![this_month.to_string(), this_month.previous().to_string()];
    sqlx::query(
        "INSERT INTO targets (kpi, scope, period, value, set_by)
         SELECT k.kpi, 'rep:' || u.id, p.period, k.value, 'u-admin'
         FROM users u
         CROSS JOIN (VALUES ('revenue', 1200000.0), ('win_rate', 40.0), ('touchpoints', 60.0),
                            ('response_time', 120.0)) AS k(kpi, value)
         CROSS JOIN unnest($1::text[]) AS p(period)
         WHERE u.role = 'rep' AND u.email LIKE '%@demo.kpi-arena.local'
         UNION ALL
         SELECT 'revenue', 'team:' || u.team_id, p.period, 1200000.0 * count(*), 'u-admin'
         FROM users u CROSS JOIN unnest($1::text[]) AS p(period)
         WHERE u.role = 'rep' AND u.email LIKE '%@demo.kpi-arena.local'
         GROUP BY u.team_id, p.period
         ON CONFLICT (kpi, scope, period) DO NOTHING",
    )
    .bind(&periods)
    .execute(&mut *tx)
    .await?;
    // The demo's history was logged as it happened, except for a few late and undone wins to review.
    sqlx::query("UPDATE activities SET logged_at = at WHERE owner_id LIKE 'u-%'").execute(&mut *tx).await?;
    sqlx::query(
        "UPDATE deal_status_log l SET changed_at = coalesce(d.closed_at, d.created_at)
         FROM deals d WHERE d.id = l.deal_id",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    store::points::recompute_all(pool).await?;
    store::badges::evaluate(pool).await?;
    Ok(records.len())
}
