//! The month at a glance for the people who run the floor: a manager's team
//! (standings, pace against targets, who needs support, challenges, wins,
//! flags) and an admin's organisation (teams, and what is not set up yet).

use domain::kpi::{self, Scope};
use domain::period::Period;
use sqlx::PgPool;
use store::challenges::{Challenge, Standing};
use store::directory::Win;
use store::flags::Flag;
use store::insights::WeakSpot;
use store::kpis::{KpiEntry, KpiError, RankedRep, Window};

/// Attainment under this % of a target marks a rep as needing support on the home page.
pub const SUPPORT_THRESHOLD: f64 = 70.0;

/// One team's month.
#[derive(Debug, Clone)]
pub struct TeamMonth {
    /// The team's reps by revenue this month.
    pub standings: Vec<RankedRep>,
    /// Each rep's attainment % of their own revenue target (`None`: no target).
    pub attainment: Vec<RankedRep>,
    /// The team's KPI card with its targets.
    pub card: Vec<KpiEntry>,
    pub weak_spots: Vec<WeakSpot>,
    /// Running challenges the team or its reps take part in, with their standings.
    pub challenges: Vec<(Challenge, Vec<Standing>)>,
    pub wins: Vec<Win>,
    pub flags: Vec<Flag>,
}

pub async fn team_month(pool: &PgPool, team: &str, period: Period, tz: chrono_tz::Tz) -> Result<TeamMonth, KpiError> {
    let scope = Scope::Team(team.to_string());
    let (start, end) = period.bounds(tz);
    let window = Window::new(start, end, tz);
    let revenue = kpi::find("revenue").expect("revenue is a KPI");
    let label = period.to_string();
    let standings = store::kpis::leaderboard(pool, &scope, window, revenue, None).await?;
    let attainment = store::kpis::leaderboard(pool, &scope, window, revenue, Some(&label)).await?;
    let card = store::kpis::card(pool, &scope, window, Some(&label)).await?;
    let weak_spots = store::insights::weak_spots(pool, team, period, tz, SUPPORT_THRESHOLD).await?;
    let members: Vec<String> = standings.iter().map(|r| r.id.clone()).collect();
    let mut challenges = Vec::new();
    for c in store::challenges::list_live(pool).await? {
        let ours = c.participants.iter().any(|p| p == team || members.contains(p));
        if ours {
            let rows = store::challenges::standings(pool, &c).await?;
            challenges.push((c, rows));
        }
    }
    let wins = store::directory::recent_wins(pool, &Some(members), &[]).await?;
    let flags = store::flags::flags(pool, Some(team)).await?;
    Ok(TeamMonth { standings, attainment, card, weak_spots, challenges, wins, flags })
}

/// One team's line on the organisation's home.
#[derive(Debug, Clone)]
pub struct TeamLine {
    pub id: String,
    pub name: String,
    pub reps: usize,
    pub revenue: f64,
    pub target: Option<f64>,
    pub attainment: Option<f64>,
}

/// The organisation's month and what is left to set up.
#[derive(Debug, Clone)]
pub struct OrgMonth {
    pub card: Vec<KpiEntry>,
    pub teams: Vec<TeamLine>,
    /// Active users in no team: (id, name, role).
    pub without_team: Vec<(String, String, String)>,
    /// Paired TVs still on the air.
    pub displays_active: usize,
    /// Active API tokens: how CRMs and scripts send records today.
    pub tokens: usize,
    /// Teams without a manager.
    pub unmanaged: Vec<String>,
}

pub async fn org_month(pool: &PgPool, period: Period, tz: chrono_tz::Tz) -> Result<OrgMonth, KpiError> {
    let (start, end) = period.bounds(tz);
    let window = Window::new(start, end, tz);
    let label = period.to_string();
    let card = store::kpis::card(pool, &Scope::Org, window, Some(&label)).await?;
    let mut teams = Vec::new();
    let mut unmanaged = Vec::new();
    for t in store::teams::list(pool).await? {
        let team_card = store::kpis::card(pool, &Scope::Team(t.id.clone()), window, Some(&label)).await?;
        let revenue = team_card.iter().find(|k| k.id == "revenue");
        if t.manager.is_none() {
            unmanaged.push(t.name.clone());
        }
        teams.push(TeamLine {
            id: t.id,
            name: t.name,
            reps: usize::try_from(t.reps).unwrap_or(0),
            revenue: revenue.and_then(|k| k.value).unwrap_or(0.0),
            target: revenue.and_then(|k| k.target),
            attainment: revenue.and_then(|k| k.attainment),
        });
    }
    teams.sort_by(|a, b| b.revenue.total_cmp(&a.revenue).then_with(|| a.name.cmp(&b.name)));
    let without_team = store::users::list(pool, None)
        .await?
        .into_iter()
        .filter(|u| u.active && u.team.is_none() && u.role != "admin")
        .map(|u| (u.id, u.name, u.role))
        .collect();
    let displays_active = store::displays::list(pool, None).await?.iter().filter(|d| d.revoked_at.is_none()).count();
    let tokens = store::users::tokens(pool, None).await?.iter().filter(|t| t.revoked_at.is_none()).count();
    Ok(OrgMonth { card, teams, without_team, displays_active, tokens, unmanaged })
}
