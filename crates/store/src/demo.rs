//! The demo organisation's finishing touches, written in the loader's transaction.

use domain::records::Kind;
use sqlx::{Postgres, Transaction};

/// After the demo's records: every demo login gets `hash`, the organisation
/// its demo name and `zone`, every demo rep, team and the organisation starter targets for
/// `periods` (kept where a manager changed them), and the history its log times.
pub async fn settle(
    tx: &mut Transaction<'_, Postgres>,
    hash: &str,
    zone: &str,
    periods: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE email LIKE '%@demo.kpi-arena.local'")
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE org_settings SET name = 'Северный ветер (демо)', currency = 'RUB', time_zone = $1,
           language = 'ru', demo_loaded = TRUE",
    )
    .bind(zone)
    .execute(&mut **tx)
    .await?;
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
         UNION ALL
         SELECT k.kpi, 'org', p.period, k.per_rep * CASE WHEN k.summed THEN r.reps ELSE 1 END, 'u-admin'
         FROM (SELECT count(*) AS reps FROM users
               WHERE role = 'rep' AND email LIKE '%@demo.kpi-arena.local') AS r
         CROSS JOIN (VALUES ('revenue', 1200000.0, TRUE), ('win_rate', 40.0, FALSE),
                            ('touchpoints', 60.0, TRUE), ('response_time', 120.0, FALSE)) AS k(kpi, per_rep, summed)
         CROSS JOIN unnest($1::text[]) AS p(period)
         ON CONFLICT (kpi, scope, period) DO NOTHING",
    )
    .bind(periods)
    .execute(&mut **tx)
    .await?;
    // The demo's history was logged as it happened, except for a few late and undone wins to review.
    sqlx::query("UPDATE activities SET logged_at = at WHERE owner_id LIKE 'u-%'").execute(&mut **tx).await?;
    sqlx::query(
        "UPDATE deal_status_log l SET changed_at = coalesce(d.closed_at, d.created_at)
         FROM deals d WHERE d.id = l.deal_id",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The email domain of every demo account.
pub const DEMO_EMAILS: &str = "%@demo.kpi-arena.local";

/// Whether any demo account exists (every page then says the data is a demo).
pub async fn accounts_exist(pool: &sqlx::PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email LIKE $1)")
        .bind(DEMO_EMAILS)
        .fetch_one(pool)
        .await
}

/// The password hashes of the demo accounts that can sign in.
pub async fn active_hashes(pool: &sqlx::PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE email LIKE $1 AND active AND password_hash IS NOT NULL")
        .bind(DEMO_EMAILS)
        .fetch_all(pool)
        .await
}

/// What `remove` deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    pub users: u64,
    pub teams: u64,
    pub records: u64,
}

/// Deletes the demo organisation in one transaction: its users (the demo
/// accounts) with everything of theirs (records they own, points, badges,
/// targets, challenges, displays, invites, imports, tokens), the demo's teams
/// (real users in them are left without a team), and the demo's own catalogue
/// (`records`: the demo's kinds and ids) unless a real record still uses it.
pub async fn remove(pool: &sqlx::PgPool, records: &[(Kind, String)]) -> Result<Removed, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let users: Vec<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE email LIKE $1").bind(DEMO_EMAILS).fetch_all(&mut *tx).await?;
    let ids_of = |kind: Kind| records.iter().filter(|(k, _)| *k == kind).map(|(_, id)| id.clone()).collect::<Vec<_>>();
    let teams = ids_of(Kind::Team);
    let mut removed = Removed::default();
    // Derived and owned rows first, then the records, then users and teams.
    for sql in [
        "DELETE FROM points_entries WHERE user_id = ANY($1)",
        "DELETE FROM badge_awards WHERE user_id = ANY($1)",
        "DELETE FROM invites WHERE user_id = ANY($1) OR created_by = ANY($1)",
        "DELETE FROM imports WHERE created_by = ANY($1)",
        "DELETE FROM challenges WHERE created_by = ANY($1)",
        "UPDATE points_rules SET updated_by = NULL WHERE updated_by = ANY($1)",
        "DELETE FROM deal_status_log WHERE owner_id = ANY($1)",
    ] {
        sqlx::query(sql).bind(&users).execute(&mut *tx).await?;
    }
    for sql in [
        "DELETE FROM displays WHERE created_by = ANY($1) OR scope = ANY(SELECT 'team:' || t FROM unnest($2::text[]) t)",
        "DELETE FROM targets WHERE set_by = ANY($1) OR scope = ANY(SELECT 'rep:' || u FROM unnest($1::text[]) u)
           OR scope = ANY(SELECT 'team:' || t FROM unnest($2::text[]) t)",
    ] {
        sqlx::query(sql).bind(&users).bind(&teams).execute(&mut *tx).await?;
    }
    // Real records that named a demo customer or lead stay, without it.
    for sql in [
        "UPDATE deals SET customer_id = NULL WHERE customer_id IN (SELECT id FROM customers WHERE owner_id = ANY($1))",
        "UPDATE leads SET customer_id = NULL WHERE customer_id IN (SELECT id FROM customers WHERE owner_id = ANY($1))",
        "UPDATE activities SET customer_id = NULL WHERE customer_id IN (SELECT id FROM customers WHERE owner_id = ANY($1))",
        "UPDATE meeting_requests SET customer_id = NULL
           WHERE customer_id IN (SELECT id FROM customers WHERE owner_id = ANY($1))",
        "DELETE FROM feedback WHERE owner_id IS NULL AND customer_id IN (SELECT id FROM customers WHERE owner_id = ANY($1))",
        "UPDATE activities SET lead_id = NULL WHERE lead_id IN (SELECT id FROM leads WHERE owner_id = ANY($1))",
        "UPDATE meeting_requests SET lead_id = NULL WHERE lead_id IN (SELECT id FROM leads WHERE owner_id = ANY($1))",
    ] {
        sqlx::query(sql).bind(&users).execute(&mut *tx).await?;
    }
    // Records: what demo users own, in the order nothing still points at a deleted row.
    for (table, owner) in [
        ("activities", "owner_id"),
        ("meeting_requests", "owner_id"),
        ("feedback", "owner_id"),
        ("deals", "owner_id"),
        ("leads", "owner_id"),
    ] {
        let sql = format!("DELETE FROM {table} WHERE {owner} = ANY($1)");
        removed.records += sqlx::query(&sql).bind(&users).execute(&mut *tx).await?.rows_affected();
    }
    removed.records += sqlx::query("DELETE FROM customers WHERE owner_id = ANY($1)")
        .bind(&users)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    removed.records += sqlx::query("DELETE FROM costs WHERE team_id = ANY($1) OR id = ANY($2)")
        .bind(&teams)
        .bind(ids_of(Kind::Cost))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    removed.records += sqlx::query("DELETE FROM competitor_prices WHERE id = ANY($1)")
        .bind(ids_of(Kind::CompetitorPrice))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    removed.records += sqlx::query(
        "DELETE FROM products p WHERE id = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.product_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM competitor_prices c WHERE c.product_id = p.id)",
    )
    .bind(ids_of(Kind::Product))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("UPDATE teams SET manager_id = NULL WHERE manager_id = ANY($1)").bind(&users).execute(&mut *tx).await?;
    removed.users =
        sqlx::query("DELETE FROM users WHERE id = ANY($1)").bind(&users).execute(&mut *tx).await?.rows_affected();
    sqlx::query("UPDATE users SET team_id = NULL WHERE team_id = ANY($1)").bind(&teams).execute(&mut *tx).await?;
    removed.teams =
        sqlx::query("DELETE FROM teams WHERE id = ANY($1)").bind(&teams).execute(&mut *tx).await?.rows_affected();
    sqlx::query(
        "UPDATE org_settings SET demo_loaded = FALSE,
           name = CASE WHEN name = 'Северный ветер (демо)' THEN 'KPI Arena' ELSE name END",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(removed)
}
