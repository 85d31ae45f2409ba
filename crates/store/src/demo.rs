//! The demo organisation's finishing touches, written in the loader's transaction.

use sqlx::{Postgres, Transaction};

/// After the demo's records: every demo login gets `hash`, the organisation
/// its demo name and `zone`, every demo rep (and team) starter targets for
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
