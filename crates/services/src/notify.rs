//! Which moments are worth telling, written to the outbox in the transaction of the change
//! they report: won deals, badges and levels by the scoring worker (`moments_in`), a challenge
//! launched or ended by `challenges`, its lead changing hands after a pass (`lead_changes`).
//! Each moment has an idempotency key, so scoring a change again tells nothing new. The sender
//! (the `notify` crate) delivers them.

use chrono::{DateTime, Duration, Utc};
use domain::notify::Moment;
use domain::period::{Period, PeriodKind};
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::HashMap;
use store::notify::NewMoment;

/// How long a delivery waits before it is sent, so that a burst (a batch of wins, a badge with
/// the win that earned it) folds into one message.
pub const FOLD_SECONDS: f64 = 2.0;

/// A won deal or a badge dated longer ago than this when it is scored is history, not news: a
/// backfill or an import of last year's deals tells nobody.
pub fn news_window() -> Duration {
    Duration::hours(24)
}

/// What the pass is compared with: each owner's lifetime points, and everyone's points this
/// month when a channel wants to hear who passed whom.
pub struct Before {
    lifetime: HashMap<String, i64>,
    month: Option<Vec<(String, String, Option<String>, i64)>>,
}

/// Read before the pass, when any channel listens (else `None`).
pub async fn before_scoring(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    owners: Option<&[String]>,
) -> Result<Option<Before>, sqlx::Error> {
    if !store::notify::any_channel(&mut **tx).await? {
        return Ok(None);
    }
    let lifetime = store::notify::lifetime_points(tx, owners).await?.into_iter().map(|(id, _, _, p)| (id, p)).collect();
    let month = if store::notify::listening(pool, "passed").await? {
        let (start, end) = this_month(pool).await?;
        Some(store::notify::period_points(tx, start, end).await?)
    } else {
        None
    };
    Ok(Some(Before { lifetime, month }))
}

async fn this_month(pool: &PgPool) -> Result<(DateTime<Utc>, DateTime<Utc>), sqlx::Error> {
    let tz = store::settings::load(pool).await?.time_zone;
    let today = domain::clock::now().with_timezone(&tz).date_naive();
    Ok(Period::containing(PeriodKind::Month, today).bounds(tz))
}

/// The reps each rep moved ahead of: ahead of them after, behind them before. `(rep, passed,
/// new rank)` for each rep who passed someone; ranks by points, ties sharing a rank.
pub fn passes(before: &HashMap<String, i64>, after: &[(String, i64)]) -> Vec<(String, Vec<String>, i64)> {
    let mut out = Vec::new();
    for (rep, now) in after {
        let was = before.get(rep).copied().unwrap_or(0);
        if *now <= was {
            continue;
        }
        let passed: Vec<String> = after
            .iter()
            .filter(|(other, theirs)| other != rep && *theirs < *now && before.get(other).copied().unwrap_or(0) > was)
            .map(|(other, _)| other.clone())
            .collect();
        if !passed.is_empty() {
            let rank = 1 + after.iter().filter(|(_, p)| p > now).count() as i64;
            out.push((rep.clone(), passed, rank));
        }
    }
    out
}

/// After the pass, in its transaction: the new won deals (with the rep's rank by this month's
/// won revenue), badges and levels of `owners` since `from`.
pub async fn moments_in(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    owners: Option<&[String]>,
    from: DateTime<Utc>,
    before: &Before,
) -> Result<u64, sqlx::Error> {
    let now = domain::clock::now();
    let since = from.max(now - news_window());
    let settings = store::settings::load(pool).await?;
    let mut moments = Vec::new();

    let wins =
        store::notify::new_wins(tx, owners, since, now + Duration::minutes(domain::fairness::CLOCK_SKEW_MINUTES))
            .await?;
    if !wins.is_empty() {
        let month = Period::containing(PeriodKind::Month, now.with_timezone(&settings.time_zone).date_naive());
        let (start, end) = month.bounds(settings.time_zone);
        let ranks: HashMap<String, i64> = store::notify::revenue_ranks(tx, start, end).await?.into_iter().collect();
        for (deal, owner, name, team, amount) in wins {
            let moment = Moment::Won {
                rep: name,
                deal: deal.clone(),
                amount: amount.to_string(),
                currency: settings.currency.clone(),
                rank: ranks.get(&owner).copied(),
            };
            moments.push(new(format!("won:{deal}"), &moment, Some(owner), team, Some(amount)));
        }
    }

    // Everyone's: the comparative badges are given to whoever earns them.
    for (user, name, team, badge) in store::notify::new_badges(tx, None, since).await? {
        let key = format!("badge:{user}:{badge}");
        moments.push(new(key, &Moment::Badge { rep: name, badge }, Some(user), team, None));
    }

    // A level reached by history (a backfill, an import) is no news either.
    let levels =
        if from >= now - news_window() { store::notify::lifetime_points(tx, owners).await? } else { Vec::new() };
    for (user, name, team, points) in levels {
        let was = domain::scoring::level(before.lifetime.get(&user).copied().unwrap_or(0)).level;
        let level = domain::scoring::level(points);
        if level.level > was {
            let moment =
                Moment::Level { rep: name, level: level.level as i64, name_en: level.name_en, name_ru: level.name_ru };
            moments.push(new(format!("level:{user}:{}", level.level), &moment, Some(user), team, None));
        }
    }
    // Who passed whom, for a change to some reps' news (not a rule change or a backfill).
    let news = owners.is_some() && from >= now - news_window();
    if let Some(month_before) = before.month.as_ref().filter(|_| news) {
        let (start, end) = this_month(pool).await?;
        let after = store::notify::period_points(tx, start, end).await?;
        let was: HashMap<String, i64> = month_before.iter().map(|(id, _, _, p)| (id.clone(), *p)).collect();
        let names: HashMap<&str, (&str, &Option<String>)> =
            after.iter().map(|(id, name, team, _)| (id.as_str(), (name.as_str(), team))).collect();
        let points: Vec<(String, i64)> = after.iter().map(|(id, _, _, p)| (id.clone(), *p)).collect();
        let label = Period::containing(PeriodKind::Month, start.with_timezone(&settings.time_zone).date_naive());
        for (rep, passed, rank) in passes(&was, &points) {
            let now_points = points.iter().find(|(id, _)| *id == rep).map_or(0, |(_, p)| *p);
            let key = format!("passed:{rep}:{label}:{}:{now_points}", passed.join(","));
            let (name, team) = names.get(rep.as_str()).copied().unwrap_or(("", &None));
            let passed_names =
                passed.iter().map(|p| names.get(p.as_str()).map_or(p.clone(), |n| n.0.to_string())).collect();
            let moment = Moment::Passed { rep: name.to_string(), passed: passed_names, rank };
            moments.push(new(key, &moment, Some(rep.clone()), team.clone(), None));
        }
    }
    store::notify::write_in(tx, &moments, FOLD_SECONDS).await
}

/// After the daily evaluation of every badge: the badges it gave (a deal of the month, a comeback).
pub async fn daily_badges(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !store::notify::any_channel(&mut *tx).await? {
        // Ended now: a transaction left to a dropped handle would hold its locks until the
        // connection is used again (a restore waits for them).
        tx.rollback().await?;
        return Ok(0);
    }
    let since = domain::clock::now() - news_window();
    let moments: Vec<NewMoment> = store::notify::new_badges(&mut tx, None, since)
        .await?
        .into_iter()
        .map(|(user, name, team, badge)| {
            let key = format!("badge:{user}:{badge}");
            new(key, &Moment::Badge { rep: name, badge }, Some(user), team, None)
        })
        .collect();
    let written = store::notify::write_in(&mut tx, &moments, FOLD_SECONDS).await?;
    tx.commit().await?;
    Ok(written)
}

/// After a scoring pass that did work: the open anti-gaming flags raised within the news
/// window that were not told yet, to the channels that chose them (a team's: its reps' flags).
pub async fn new_flags(pool: &PgPool) -> Result<u64, sqlx::Error> {
    if !store::notify::listening(pool, "flag").await? {
        return Ok(0);
    }
    let since = domain::clock::now() - news_window();
    let flags: Vec<_> = store::flags::flags(pool, None).await?.into_iter().filter(|f| f.at >= since).collect();
    if flags.is_empty() {
        return Ok(0);
    }
    let keys: Vec<String> = flags.iter().map(|f| format!("flag:{}", f.key)).collect();
    let known = store::notify::known(pool, &keys).await?;
    let moments: Vec<NewMoment> = flags
        .into_iter()
        .zip(keys)
        .filter(|(_, key)| !known.contains(key))
        .map(|(f, key)| {
            let moment = Moment::Flag { rep: f.user_name.clone(), about: f.about.clone(), detail: f.detail.clone() };
            new(key, &moment, Some(f.user_id.clone()), f.team_id.clone(), None)
        })
        .collect();
    let mut tx = pool.begin().await?;
    let written = store::notify::write_in(&mut tx, &moments, FOLD_SECONDS).await?;
    tx.commit().await?;
    Ok(written)
}

/// The address pages are reached at (`KPI_ARENA_PUBLIC_URL`), for the digests' links; without
/// it a link is the page's path.
pub const PUBLIC_URL: &str = "KPI_ARENA_PUBLIC_URL";

fn link(path: &str) -> String {
    let base = std::env::var(PUBLIC_URL).unwrap_or_default();
    format!("{}{path}", base.trim().trim_end_matches('/'))
}

/// The KPIs a digest lists: revenue, win rate and the average deal, then every KPI with a
/// target, at most eight.
fn digest_kpis(card: &[store::kpis::KpiEntry]) -> Vec<domain::notify::DigestKpi> {
    let wanted =
        |k: &&store::kpis::KpiEntry| ["revenue", "win_rate", "avg_deal_size"].contains(&k.id) || k.target.is_some();
    card.iter()
        .filter(wanted)
        .take(8)
        .map(|k| domain::notify::DigestKpi {
            id: k.id.to_string(),
            value: k.value,
            target: k.target,
            attainment: k.attainment,
        })
        .collect()
}

/// The digests of the periods just ended, once each: every team's week (on the organisation's
/// Monday) to the channels that chose the weekly digest, the organisation's month (on the 1st)
/// to those that chose the monthly one. Quiet hours hold them until the morning. `done` is what
/// the last call returned: the same periods and listeners again need no more work.
pub async fn digests_due(pool: &PgPool, done: Option<&str>) -> Result<Option<String>, store::kpis::KpiError> {
    use domain::notify::Digest;
    use domain::period::PeriodKind::{Month, Week};
    let settings = store::settings::load(pool).await?;
    let tz = settings.time_zone;
    let now = domain::clock::now();
    let today = now.with_timezone(&tz).date_naive();
    let week = Period::containing(Week, today).previous();
    let last_month = Period::containing(Month, today).previous();
    let weekly = store::notify::listening(pool, "digest_weekly").await?;
    let monthly = store::notify::listening(pool, "digest_monthly").await?;
    let token = format!("{week}|{last_month}|{weekly}|{monthly}");
    if done == Some(token.as_str()) || (!weekly && !monthly) {
        return Ok(Some(token));
    }
    let write = |moment: NewMoment| async move {
        let mut tx = pool.begin().await?;
        store::notify::write_in(&mut tx, &[moment], FOLD_SECONDS).await?;
        tx.commit().await
    };
    if weekly {
        let (_, week_end) = week.bounds(tz);
        let month = Period::containing(Month, (week_end - Duration::seconds(1)).with_timezone(&tz).date_naive());
        let (month_start, month_end) = month.bounds(tz);
        let teams = store::teams::list(pool).await?;
        let keys: Vec<String> = teams.iter().map(|t| format!("digest:week:{}:{week}", t.id)).collect();
        let known = store::notify::known(pool, &keys).await?;
        for (team, key) in teams.iter().zip(keys) {
            if known.contains(&key) {
                continue;
            }
            let scope = domain::kpi::Scope::Team(team.id.clone());
            // The month to the week's end, against the month's targets.
            let window = store::kpis::Window::at(month_start, month_end, tz, week_end);
            let card = store::kpis::card(pool, &scope, window, Some(&month.to_string())).await?;
            let behind =
                store::insights::weak_spots_at(pool, &team.id, month, tz, crate::overview::SUPPORT_THRESHOLD, week_end)
                    .await?
                    .into_iter()
                    .map(|w| (w.name, w.kpi, w.attainment))
                    .collect();
            let forecast = store::insights::forecast(pool, &scope, month, tz, week_end).await?;
            let digest = Digest {
                every: "week".into(),
                scope: team.name.clone(),
                period: week.to_string(),
                currency: settings.currency.clone(),
                kpis: digest_kpis(&card),
                behind,
                forecast: forecast.pipeline.or(forecast.run_rate).map(|f| (f, forecast.target)),
                link: link(&format!("/team/report?team={}&period={month}", team.id)),
            };
            write(new(key, &Moment::Digest(digest), None, Some(team.id.clone()), None)).await?;
        }
    }
    if monthly {
        let key = format!("digest:month:org:{last_month}");
        if store::notify::known(pool, std::slice::from_ref(&key)).await?.is_empty() {
            let org = crate::overview::org_month(pool, last_month, tz).await?;
            let behind = org
                .teams
                .iter()
                .filter_map(|t| {
                    let under = t.attainment.filter(|a| *a < crate::overview::SUPPORT_THRESHOLD)?;
                    Some((t.name.clone(), "revenue".to_string(), under))
                })
                .collect();
            let digest = Digest {
                every: "month".into(),
                scope: settings.name.clone(),
                period: last_month.to_string(),
                currency: settings.currency.clone(),
                kpis: digest_kpis(&org.card),
                behind,
                forecast: None,
                link: link(&format!("/kpis?period={last_month}")),
            };
            write(new(key, &Moment::Digest(digest), None, None, None)).await?;
        }
    }
    Ok(Some(token))
}

/// A challenge launched or ended, in the transaction that launches or ends it. A challenge among
/// one team's reps is that team's news too; any other is the organisation's.
pub async fn challenge_in(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    c: &store::challenges::Challenge,
    moment: Moment,
) -> Result<u64, sqlx::Error> {
    if !store::notify::any_channel(&mut **tx).await? {
        return Ok(0);
    }
    let team = team_of(pool, c).await?;
    let key = format!("challenge:{}:{}", c.id, moment.kind().trim_start_matches("challenge_"));
    store::notify::write_in(tx, &[new(key, &moment, None, team, None)], FOLD_SECONDS).await
}

async fn team_of(pool: &PgPool, c: &store::challenges::Challenge) -> Result<Option<String>, sqlx::Error> {
    if c.kind == "team_vs_team" {
        return Ok(None);
    }
    let mut teams: Vec<Option<String>> =
        store::challenges::reps_with_teams(pool, &c.participants).await?.into_iter().map(|(_, t)| t).collect();
    teams.sort();
    teams.dedup();
    Ok(match teams.as_slice() {
        [Some(team)] => Some(team.clone()),
        _ => None,
    })
}

/// After a scoring pass that did work: each live challenge whose sole leader (ahead of everyone, with a
/// value) is not the one last told gets a "now leads" moment.
pub async fn lead_changes(pool: &PgPool) -> Result<u64, sqlx::Error> {
    if !store::notify::listening(pool, "challenge_lead").await? {
        return Ok(0);
    }
    let mut written = 0;
    for c in store::challenges::list_live(pool).await? {
        let standings = store::challenges::standings(pool, &c).await?;
        let leaders: Vec<_> = standings.iter().filter(|s| s.rank == 1 && s.value.is_some_and(|v| v > 0.0)).collect();
        let [leader] = leaders.as_slice() else { continue };
        let (last, told) = store::notify::last_lead(pool, c.id).await?;
        if last.as_deref() == Some(leader.id.as_str()) {
            continue;
        }
        let team = team_of(pool, &c).await?;
        let moment = Moment::ChallengeLead { challenge: c.name.clone(), rep: leader.name.clone() };
        let key = format!("challenge:{}:lead:{}", c.id, told + 1);
        let mut tx = pool.begin().await?;
        written +=
            store::notify::write_in(&mut tx, &[new(key, &moment, Some(leader.id.clone()), team, None)], FOLD_SECONDS)
                .await?;
        tx.commit().await?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rep_passes_those_ahead_before_and_behind_after() {
        // Before: Вера 300, Борис 200, Анна 100, Глеб 100. Анна earns 250 (now 350), Глеб 50.
        let before: HashMap<String, i64> =
            [("vera", 300), ("boris", 200), ("anna", 100), ("gleb", 100)].map(|(k, v)| (k.to_string(), v)).into();
        let after: Vec<(String, i64)> =
            [("anna", 350), ("vera", 300), ("boris", 200), ("gleb", 150)].map(|(k, v)| (k.to_string(), v)).into();
        let passes = passes(&before, &after);
        // Анна passed Вера and Борис and is first; Глеб passed nobody (Анна was level with him, not ahead).
        assert_eq!(passes, vec![("anna".to_string(), vec!["vera".to_string(), "boris".to_string()], 1)]);
        // Nothing moved: nobody passed anyone.
        assert!(super::passes(&before, &[("vera".to_string(), 300)]).is_empty());
    }
}

fn new(
    key: String,
    moment: &Moment,
    user_id: Option<String>,
    team_id: Option<String>,
    amount: Option<rust_decimal::Decimal>,
) -> NewMoment {
    NewMoment { key, kind: moment.kind(), user_id, team_id, amount, data: json!(moment) }
}
