//! The demo organisation's sales history: generated from a fixed seed, so the same day
//! always yields the same records and loading twice changes nothing.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use domain::records::{
    Activity, CompetitorPrice, Cost, Customer, Deal, Feedback, Lead, MeetingRequest, Product, Record, Team, User,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

const DOMAIN: &str = "demo.kpi-arena.local";
/// Fixed so that the same day always yields exactly the same records (upserts stay idempotent).
const SEED: u64 = 0x4B50_495F_4152_454E;

struct TeamSpec {
    id: &'static str,
    name: &'static str,
    region: &'static str,
    /// 09:00 local time in UTC: every generated instant falls in office hours and
    /// (being between 04:00 and 17:00 UTC) on the same calendar day in UTC and in
    /// the demo's zones (Moscow, UTC+3; London, UTC+0/+1).
    utc_start: u32,
    /// Package size relative to list price: enterprise teams sell bigger deals.
    size: f64,
    english: bool,
    /// (id, name, email local part)
    manager: (&'static str, &'static str, &'static str),
    /// (name, email local part)
    reps: &'static [(&'static str, &'static str)],
}

#[rustfmt::skip]
static TEAMS: [TeamSpec; 4] = [
    TeamSpec {
        id: "t-msk", name: "Москва — Enterprise", region: "Москва", utc_start: 6, size: 1.6, english: false,
        manager: ("u-manager", "Дмитрий Соколов", "manager"),
        reps: &[("Анна Смирнова", "rep"), ("Иван Петров", "ivan.petrov"), ("Мария Кузнецова", "maria.kuznetsova"),
            ("Алексей Попов", "alexey.popov"), ("Екатерина Васильева", "ekaterina.vasilyeva"),
            ("Сергей Новиков", "sergey.novikov"), ("Наталья Морозова", "natalya.morozova")],
    },
    TeamSpec {
        id: "t-spb", name: "Санкт-Петербург — SMB", region: "Санкт-Петербург", utc_start: 6, size: 0.8, english: false,
        manager: ("u-mgr-spb", "Ирина Фёдорова", "irina.fedorova"),
        reps: &[("Михаил Волков", "mikhail.volkov"), ("Елена Лебедева", "elena.lebedeva"),
            ("Андрей Козлов", "andrey.kozlov"), ("Татьяна Егорова", "tatyana.egorova"), ("Павел Орлов", "pavel.orlov"),
            ("Юлия Никитина", "yulia.nikitina")],
    },
    TeamSpec {
        id: "t-ekb", name: "Екатеринбург — Урал", region: "Урал", utc_start: 4, size: 1.0, english: false,
        manager: ("u-mgr-ekb", "Владимир Михайлов", "vladimir.mikhailov"),
        reps: &[("Артём Захаров", "artem.zakharov"), ("Ксения Павлова", "ksenia.pavlova"),
            ("Роман Семёнов", "roman.semenov"), ("Дарья Голубева", "darya.golubeva"),
            ("Николай Виноградов", "nikolay.vinogradov"), ("Светлана Богданова", "svetlana.bogdanova")],
    },
    TeamSpec {
        id: "t-london", name: "London — EMEA", region: "EMEA", utc_start: 8, size: 1.3, english: true,
        manager: ("u-mgr-london", "William Foster", "william.foster"),
        reps: &[("James Carter", "james.carter"), ("Emily Clarke", "emily.clarke"), ("Oliver Bennett", "oliver.bennett"),
            ("Sophie Turner", "sophie.turner"), ("Harry Walsh", "harry.walsh"), ("Charlotte Hughes", "charlotte.hughes")],
    },
];

/// (id, name, list price in roubles). Indices 0–1 are licences (upsell), 2–5 add-ons (cross-sell).
static PRODUCTS: [(&str, &str, i64); 6] = [
    ("p-crm-pro", "CRM Pro — годовая лицензия (10 мест)", 240_000),
    ("p-crm-team", "CRM Team — годовая лицензия (5 мест)", 96_000),
    ("p-implementation", "Внедрение и настройка", 350_000),
    ("p-support", "Премиум-поддержка (год)", 72_000),
    ("p-training", "Обучение команды", 45_000),
    ("p-analytics", "Модуль «Аналитика продаж»", 120_000),
];

/// (product index, competitor, their price relative to ours).
#[rustfmt::skip]
static COMPETITORS: &[(usize, &str, f64)] = &[
    (0, "Битрикс24", 0.78), (0, "amoCRM", 0.92), (0, "Salesforce", 1.55), (1, "Битрикс24", 0.85), (1, "amoCRM", 0.97),
    (2, "ИТ-Интегратор Плюс", 0.88), (2, "Salesforce", 1.6), (3, "Битрикс24", 0.8), (3, "HubSpot", 1.35),
    (4, "amoCRM", 0.75), (4, "Учебный центр «Профи»", 0.95), (5, "Salesforce", 1.5), (5, "HubSpot", 1.2),
    (5, "Битрикс24", 0.9),
];

/// (source, min cost, max cost); free sources have no cost.
#[rustfmt::skip]
static SOURCES: [(&str, f64, f64); 6] = [
    ("website", 400.0, 1_500.0), ("ads", 1_500.0, 5_000.0), ("event", 3_000.0, 9_000.0),
    ("partner", 2_000.0, 4_000.0), ("referral", 0.0, 0.0), ("cold_call", 0.0, 0.0),
];

static ACTIVITY_TYPES: [(&str, u32); 6] =
    [("call", 34), ("email", 28), ("message", 12), ("meeting", 13), ("demo", 9), ("other", 4)];

#[rustfmt::skip]
static RU_ROOTS: [&str; 24] = [
    "Альфа", "Вектор", "Север", "Гранит", "Орион", "Байкал", "Волга", "Кедр", "Меридиан", "Импульс", "Прогресс",
    "Спектр", "Атлант", "Сапфир", "Горизонт", "Енисей", "Сириус", "Алтай", "Ладога", "Рубин", "Амур", "Пульсар",
    "Сфера", "Магистраль",
];
#[rustfmt::skip]
static RU_TAILS: [&str; 12] = [
    "Логистик", "Строй", "Трейд", "Софт", "Агро", "Медиа", "Пром", "Маркет", "Фарм", "Энерго", "Сервис", "Дистрибуция",
];
static RU_FORMS: [&str; 3] = ["ООО", "АО", "ГК"];
#[rustfmt::skip]
static EN_ROOTS: [&str; 16] = [
    "Northwind", "Bluebell", "Kestrel", "Harbour", "Oakridge", "Silverline", "Redwood", "Castlegate", "Brightwater",
    "Ironbridge", "Fairfield", "Westbrook", "Thornbury", "Marlow", "Ashford", "Pennine",
];
static EN_TAILS: [&str; 8] = ["Logistics", "Retail", "Partners", "Foods", "Systems", "Labs", "Healthcare", "Energy"];
static EN_FORMS: [&str; 3] = ["Ltd", "plc", "Group"];

struct Rep {
    id: String,
    team: usize,
    /// 0.55–1.5: drives response time, conversion, deal size and activity, so the leaderboard has a clear spread.
    skill: f64,
    customers: Vec<usize>,
    leads: Vec<usize>,
}

/// The random source plus the time frame every generated instant must respect.
struct Gen {
    rng: StdRng,
    /// Now: nothing is dated later.
    cap: DateTime<Utc>,
    ru_names: usize,
    en_names: usize,
}

impl Gen {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    fn day_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        if to <= from {
            return from;
        }
        from + Duration::days(self.rng.gen_range(0..=(to - from).num_days()))
    }

    /// A day of month `m` drawn over all of its days; `None` when it is outside
    /// the history's days `from..=to` of that month (still to come, or before the
    /// history began). A month under way so gets its share of a month's events,
    /// at the pace of the others, not all of them in the days it has had.
    fn day_of_month(&mut self, m: NaiveDate, from: NaiveDate, to: NaiveDate) -> Option<NaiveDate> {
        let day = self.day_between(m, add_months(m, 1) - Duration::days(1));
        (from <= day && day <= to).then_some(day)
    }

    /// An office-hour instant on `day`; a weekend moves back to Friday unless that is before `floor`.
    fn office_hour(&mut self, day: NaiveDate, utc_start: u32, floor: NaiveDate) -> DateTime<Utc> {
        let back = match day.weekday() {
            Weekday::Sat => 1,
            Weekday::Sun => 2,
            _ => 0,
        };
        let friday = day - Duration::days(back);
        let day = if friday >= floor { friday } else { day };
        let hour = utc_start + self.rng.gen_range(0..9);
        let minute = self.rng.gen_range(0..60);
        day.and_hms_opt(hour, minute, 0).expect("office hour").and_utc()
    }

    /// `office_hour`, or `None` when that is later than now: later today is still to
    /// come, and has not happened (moving it to just before now would crowd a whole
    /// day's events into the hours the day has had).
    fn office(&mut self, day: NaiveDate, utc_start: u32, floor: NaiveDate) -> Option<DateTime<Utc>> {
        let at = self.office_hour(day, utc_start, floor);
        (at <= self.cap).then_some(at)
    }

    /// An office-hour instant on a working day `min..=max` days after `t`; None past the cap
    /// (a deal that closes next week is open today).
    fn after(&mut self, t: DateTime<Utc>, min: i64, max: i64, utc_start: u32) -> Option<DateTime<Utc>> {
        let weekend = |day: NaiveDate| matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        // A weekend day is drawn again (moving it to Monday would make Mondays three days' worth).
        let mut day = t.date_naive() + Duration::days(self.rng.gen_range(min..=max));
        for _ in 0..8 {
            if !weekend(day) {
                break;
            }
            day = t.date_naive() + Duration::days(self.rng.gen_range(min..=max));
        }
        while weekend(day) {
            day += Duration::days(1);
        }
        let mut at = self.office_hour(day, utc_start, day);
        if at <= t {
            at = t + Duration::minutes(self.rng.gen_range(20..180));
        }
        (at <= self.cap).then_some(at)
    }

    /// Unique-looking company names: a stride walks every root × tail pair before repeating.
    fn company_name(&mut self, english: bool) -> String {
        let (roots, tails, forms, k) = if english {
            self.en_names += 1;
            (&EN_ROOTS[..], &EN_TAILS[..], &EN_FORMS[..], self.en_names)
        } else {
            self.ru_names += 1;
            (&RU_ROOTS[..], &RU_TAILS[..], &RU_FORMS[..], self.ru_names)
        };
        let pairs = roots.len() * tails.len();
        let mix = (k * 7919) % pairs;
        let (root, tail) = (roots[mix % roots.len()], tails[mix / roots.len()]);
        let form = forms[(k / pairs) % forms.len()];
        if english {
            format!("{root} {tail} {form}")
        } else {
            format!("{form} «{root}-{tail}»")
        }
    }
}

/// Money from a float, rounded to `step` roubles, with exactly 2 fraction digits.
fn rub(x: f64, step: f64) -> Decimal {
    let rounded = (x / step).round().max(1.0) * step;
    Decimal::new((rounded * 100.0).round() as i64, 2)
}

fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut x = rng.gen_range(0..total);
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[0].0
}

fn add_months(first: NaiveDate, n: i32) -> NaiveDate {
    let m = first.year() * 12 + first.month0() as i32 + n;
    NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1).expect("valid month")
}

/// The days of month `m` inside the history window.
fn month_span(m: NaiveDate, start: NaiveDate, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let from = m.max(start);
    let to = (add_months(m, 1) - Duration::days(1)).min(today);
    (from <= to).then_some((from, to))
}

fn active(c: &Customer, t: DateTime<Utc>) -> bool {
    c.acquired_at < t && c.churned_at.is_none_or(|ch| ch >= t)
}

/// One of the rep's customers active from `from` until `to` (when given).
fn pick_customer(
    rng: &mut StdRng,
    customers: &[Customer],
    mine: &[usize],
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> Option<usize> {
    let fits = |i: &usize| active(&customers[*i], from) && to.is_none_or(|t| active(&customers[*i], t));
    let live: Vec<usize> = mine.iter().copied().filter(fits).collect();
    live.choose(rng).copied()
}

/// Who an interaction is with: often a live customer, often a fresh lead, sometimes nobody on record.
fn link(
    rng: &mut StdRng,
    customers: &[Customer],
    leads: &[Lead],
    rep: &Rep,
    at: DateTime<Utc>,
) -> (Option<String>, Option<String>) {
    let roll: f64 = rng.gen();
    if roll < 0.5 {
        let live: Vec<&Customer> = rep.customers.iter().map(|&i| &customers[i]).filter(|c| active(c, at)).collect();
        if let Some(c) = live.choose(rng) {
            return (Some(c.id.clone()), None);
        }
    } else if roll < 0.85 {
        let recent = |l: &&Lead| l.created_at < at && at - l.created_at < Duration::days(45);
        let fresh: Vec<&Lead> = rep.leads.iter().map(|&i| &leads[i]).filter(recent).collect();
        if let Some(l) = fresh.choose(rng) {
            return (None, Some(l.id.clone()));
        }
    }
    (None, None)
}

fn deal_amount(g: &mut Gen, product: usize, team: &TeamSpec, skill: f64, packages: (f64, f64)) -> Decimal {
    let list = PRODUCTS[product].2 as f64;
    let qty = g.rng.gen_range(packages.0..packages.1);
    let discount = g.rng.gen_range(0.85..1.0);
    rub(list * qty * discount * team.size * (0.6 + 0.4 * skill), 100.0)
}

/// An upsell (more licences) or cross-sell (an add-on) to an existing customer.
fn sale_to_customer(
    g: &mut Gen,
    id: String,
    rep: &Rep,
    customer: &str,
    created_at: DateTime<Utc>,
    status: &str,
    closed_at: Option<DateTime<Utc>>,
) -> Deal {
    let cross = g.chance(0.5);
    let (product, packages) =
        if cross { (g.rng.gen_range(2..=5), (0.5, 1.5)) } else { (g.rng.gen_range(0..=1), (0.3, 1.2)) };
    let amount = deal_amount(g, product, &TEAMS[rep.team], rep.skill, packages);
    let (owner, customer, product) = (rep.id.clone(), Some(customer.into()), Some(PRODUCTS[product].0.into()));
    let deal_type = if cross { "cross_sell" } else { "upsell" }.to_string();
    Deal { id, owner, customer, product, amount, deal_type, created_at, status: status.into(), closed_at }
}

fn user(id: &str, name: &str, local: &str, role: &str, team: Option<&str>) -> User {
    let (id, name, email) = (id.to_string(), name.to_string(), format!("{local}@{DOMAIN}"));
    User { id, name, email, role: role.to_string(), team: team.map(str::to_string) }
}

fn add_customer(
    g: &mut Gen,
    customers: &mut Vec<Customer>,
    owner: &str,
    team: &TeamSpec,
    acquired_at: DateTime<Utc>,
) -> usize {
    let name = g.company_name(team.english);
    // Some churn within a year; counting those not yet due, about one customer in ten has churned.
    let churned_at = if g.chance(0.18) { g.after(acquired_at, 45, 300, team.utc_start) } else { None };
    let (id, region, owner) = (format!("cust-{:04}", customers.len() + 1), team.region.to_string(), owner.to_string());
    customers.push(Customer { id, name, region, owner, acquired_at, churned_at });
    customers.len() - 1
}

/// The demo organisation as of `now`: 12 months of history up to today (in the
/// organisation's time `zone`), every reference pointing to an earlier record,
/// nothing dated after `now`. The same `now` and `zone` always give the same records.
pub fn demo_records(now: DateTime<Utc>, zone: Tz) -> Vec<Record> {
    let today = now.with_timezone(&zone).date_naive();
    let start = today - Duration::days(364);
    let month_start = today.with_day(1).expect("first of month");
    let months: Vec<NaiveDate> = (0..12).rev().map(|k| add_months(month_start, -k)).collect();
    let cap = now;
    // The current month (in the organisation's zone) began here; its wins are dated between this and now.
    let midnight = month_start.and_hms_opt(0, 0, 0).expect("midnight");
    let month_began =
        zone.from_local_datetime(&midnight).earliest().map_or(midnight.and_utc(), |t| t.with_timezone(&Utc));
    let mut g = Gen { rng: StdRng::seed_from_u64(SEED), cap, ru_names: 0, en_names: 0 };
    let mut out = Vec::new();

    for t in &TEAMS {
        out.push(Record::Team(Team { id: t.id.into(), name: t.name.into(), region: t.region.into() }));
    }
    out.push(Record::User(user("u-admin", "Ольга Администратор", "admin", "admin", None)));
    for t in &TEAMS {
        out.push(Record::User(user(t.manager.0, t.manager.1, t.manager.2, "manager", Some(t.id))));
    }
    let mut reps: Vec<Rep> = Vec::new();
    for (ti, t) in TEAMS.iter().enumerate() {
        for &(name, local) in t.reps {
            let n = reps.len() + 1;
            let id = if n == 1 { "u-rep".to_string() } else { format!("u-rep-{n:02}") };
            // The demo rep login is a strong (not top) performer, so their own view is interesting.
            let skill = if n == 1 { 1.2 } else { g.rng.gen_range(0.55..1.5) };
            out.push(Record::User(user(&id, name, local, "rep", Some(t.id))));
            reps.push(Rep { id, team: ti, skill, customers: Vec::new(), leads: Vec::new() });
        }
    }
    for &(id, name, price) in &PRODUCTS {
        out.push(Record::Product(Product { id: id.into(), name: name.into(), price: Decimal::new(price * 100, 2) }));
    }

    let mut customers: Vec<Customer> = Vec::new();
    let mut leads: Vec<Lead> = Vec::new();
    let mut deals: Vec<Deal> = Vec::new();

    // Per rep: a book of older customers (so upsells start in month one), then a year of leads
    // whose funnel yields new-business deals and, when won, new customers.
    for rep in reps.iter_mut() {
        let team = &TEAMS[rep.team];
        for _ in 0..g.rng.gen_range(4..=6) {
            let day = g.day_between(today - Duration::days(1095), start - Duration::days(30));
            let acquired_at = g.office_hour(day, team.utc_start, NaiveDate::MIN);
            let ci = add_customer(&mut g, &mut customers, &rep.id, team, acquired_at);
            rep.customers.push(ci);
        }
        let n = g.rng.gen_range(170..=230);
        let mut days: Vec<NaiveDate> = (0..n).map(|_| g.day_between(start, today)).collect();
        days.sort();
        for day in days {
            let Some(created_at) = g.office(day, team.utc_start, start) else { continue };
            let (source, min_cost, max_cost) = SOURCES[g.rng.gen_range(0..SOURCES.len())];
            let cost = (max_cost > 0.0).then(|| rub(g.rng.gen_range(min_cost..max_cost), 10.0));
            let (id, owner, source) = (format!("lead-{:05}", leads.len() + 1), rep.id.clone(), Some(source.into()));
            let mut lead = Lead {
                id,
                owner,
                created_at,
                source,
                cost,
                qualified_at: None,
                first_contact_at: None,
                followed_up_at: None,
                converted_at: None,
                customer: None,
            };
            if g.chance(0.8 + 0.1 * rep.skill) {
                // Strong reps answer within the hour; weaker ones often take half a day.
                let minutes = 3.0 + g.rng.gen::<f64>().powi(2) * 480.0 / rep.skill;
                let t = created_at + Duration::minutes(minutes as i64);
                lead.first_contact_at = (t <= g.cap).then_some(t);
            }
            if let Some(contact) = lead.first_contact_at {
                if g.chance(0.55 + 0.25 * rep.skill) {
                    lead.followed_up_at = g.after(contact, 1, 4, team.utc_start);
                }
                if g.chance(0.42) {
                    lead.qualified_at = g.after(contact, 0, 5, team.utc_start);
                }
            }
            if let Some(qualified) = lead.qualified_at {
                // A qualified lead becomes a new-business deal: won on conversion, else lost or still open.
                let product = weighted(&mut g.rng, &[(0usize, 35), (1, 35), (2, 15), (5, 15)]);
                let amount = deal_amount(&mut g, product, team, rep.skill, (1.0, 3.0));
                let converts = g.chance(0.18 + 0.18 * rep.skill);
                let converted = if converts { g.after(qualified, 7, 45, team.utc_start) } else { None };
                let (status, closed_at, customer) = match converted {
                    Some(at) => {
                        let ci = add_customer(&mut g, &mut customers, &rep.id, team, at);
                        rep.customers.push(ci);
                        lead.converted_at = Some(at);
                        lead.customer = Some(customers[ci].id.clone());
                        ("won", Some(at), lead.customer.clone())
                    }
                    None => match g.after(qualified, 10, 60, team.utc_start) {
                        Some(at) => ("lost", Some(at), None),
                        None => ("open", None, None),
                    },
                };
                let (id, product) = (format!("deal-{:05}", deals.len() + 1), Some(PRODUCTS[product].0.to_string()));
                deals.push(Deal {
                    id,
                    owner: rep.id.clone(),
                    customer,
                    product,
                    amount,
                    deal_type: "new".into(),
                    created_at: qualified,
                    status: status.into(),
                    closed_at,
                });
            }
            rep.leads.push(leads.len());
            leads.push(lead);
        }
    }

    // Upsells and cross-sells to live customers, one to three a month per rep.
    for rep in &reps {
        let team = &TEAMS[rep.team];
        for &m in &months {
            let Some((from, to)) = month_span(m, start, today) else {
                continue;
            };
            for _ in 0..g.rng.gen_range(1..=3) {
                let Some(day) = g.day_of_month(m, from, to) else { continue };
                let Some(created_at) = g.office(day, team.utc_start, from) else { continue };
                let closed = g.after(created_at, 5, 40, team.utc_start);
                let picked = pick_customer(&mut g.rng, &customers, &rep.customers, created_at, closed);
                let Some(ci) = picked else { continue };
                let won = g.chance(0.45 + 0.25 * rep.skill);
                let status = match closed {
                    None => "open",
                    Some(_) if won => "won",
                    Some(_) => "lost",
                };
                let id = format!("deal-{:05}", deals.len() + 1);
                deals.push(sale_to_customer(&mut g, id, rep, &customers[ci].id, created_at, status, closed));
            }
        }
    }

    // The demo login rep (`u-rep`) has won something this month whatever the hour, so their
    // own pages (home, KPI card, targets) have a month to show. When the history has not given
    // them a win by now, one sale to one of their customers is dated in the hours the month has
    // had (in office hours when it has had any). One deal, no more: the month keeps the pace of
    // the others, so a forecast on its first days extrapolates what any month looks like.
    let rep = &reps[0];
    let won_this_month =
        deals.iter().any(|d| d.owner == rep.id && d.status == "won" && d.closed_at.is_some_and(|t| t >= month_began));
    if !won_this_month {
        let team = &TEAMS[rep.team];
        let day = g.day_between(month_start, today);
        let mut closed_at = g.office_hour(day, team.utc_start, month_start);
        if closed_at <= month_began || closed_at > now {
            let elapsed = (now - month_began).num_seconds().max(2);
            closed_at = month_began + Duration::seconds(g.rng.gen_range(1..elapsed));
        }
        let back = g.rng.gen_range(7..=35);
        let created_at = g.office_hour(closed_at.date_naive() - Duration::days(back), team.utc_start, NaiveDate::MIN);
        let id = format!("deal-{:05}", deals.len() + 1);
        let deal = match pick_customer(&mut g.rng, &customers, &rep.customers, created_at, Some(closed_at)) {
            Some(ci) => sale_to_customer(&mut g, id, rep, &customers[ci].id, created_at, "won", Some(closed_at)),
            None => Deal {
                id,
                owner: rep.id.clone(),
                customer: None,
                product: Some(PRODUCTS[1].0.into()),
                amount: deal_amount(&mut g, 1, team, rep.skill, (1.0, 1.5)),
                deal_type: "new".into(),
                created_at,
                status: "won".into(),
                closed_at: Some(closed_at),
            },
        };
        deals.push(deal);
    }

    // Touchpoints: about a dozen a week per rep, busier for stronger reps.
    let mut activities: Vec<Activity> = Vec::new();
    let first_monday = start - Duration::days(start.weekday().num_days_from_monday() as i64);
    for rep in &reps {
        let team = &TEAMS[rep.team];
        let mut monday = first_monday;
        while monday <= today {
            let n = g.rng.gen_range(7..=13) + (rep.skill * 2.0).round() as u32;
            for _ in 0..n {
                let day = monday + Duration::days(g.rng.gen_range(0..5));
                if day < start || day > today {
                    continue;
                }
                let Some(at) = g.office(day, team.utc_start, start) else { continue };
                let activity_type = weighted(&mut g.rng, &ACTIVITY_TYPES);
                let (customer, lead) = link(&mut g.rng, &customers, &leads, rep, at);
                let (id, owner) = (format!("act-{:05}", activities.len() + 1), rep.id.clone());
                activities.push(Activity { id, owner, activity_type: activity_type.into(), at, customer, lead });
            }
            monday += Duration::days(7);
        }
    }

    let mut meetings: Vec<MeetingRequest> = Vec::new();
    for rep in &reps {
        let team = &TEAMS[rep.team];
        for &m in &months {
            let Some((from, to)) = month_span(m, start, today) else {
                continue;
            };
            for _ in 0..g.rng.gen_range(2..=5) {
                let Some(day) = g.day_of_month(m, from, to) else { continue };
                let Some(proposed_at) = g.office(day, team.utc_start, from) else { continue };
                let (customer, lead) = link(&mut g.rng, &customers, &leads, rep, proposed_at);
                // Recent requests await an answer; older ones were mostly accepted.
                let outcome = if (today - proposed_at.date_naive()).num_days() < 3 || g.chance(0.04) {
                    "pending"
                } else if g.chance(0.45 + 0.25 * rep.skill) {
                    "accepted"
                } else {
                    "declined"
                };
                let (id, owner) = (format!("mr-{:05}", meetings.len() + 1), rep.id.clone());
                meetings.push(MeetingRequest { id, owner, proposed_at, outcome: outcome.into(), customer, lead });
            }
        }
    }

    // Feedback: mostly positive, gloomier from customers who later churned.
    let mut feedback: Vec<Feedback> = Vec::new();
    for rep in &reps {
        let team = &TEAMS[rep.team];
        for &ci in &rep.customers {
            let c = &customers[ci];
            let from = (c.acquired_at.date_naive() + Duration::days(7)).max(start);
            let to = c.churned_at.map_or(today, |t| t.date_naive() - Duration::days(1)).min(today);
            if from > to {
                continue;
            }
            let weights = if c.churned_at.is_some() {
                [("positive", 3), ("neutral", 3), ("negative", 4)]
            } else {
                [("positive", 72), ("neutral", 19), ("negative", 9)]
            };
            for _ in 0..g.rng.gen_range(0..=3) {
                let day = g.day_between(from, to);
                let Some(at) = g.office(day, team.utc_start, from) else { continue };
                let sentiment = weighted(&mut g.rng, &weights);
                // Without an owner, feedback belongs to the customer's owner (KPIS.md).
                let owner = g.chance(0.6).then(|| rep.id.clone());
                let (id, customer) = (format!("fb-{:05}", feedback.len() + 1), Some(c.id.clone()));
                feedback.push(Feedback { id, owner, customer, at, sentiment: sentiment.into() });
            }
        }
        // Post-event surveys from prospects: owned by the rep, no customer.
        for _ in 0..g.rng.gen_range(2..=4) {
            let day = g.day_between(start, today);
            let Some(at) = g.office(day, team.utc_start, start) else { continue };
            let sentiment = weighted(&mut g.rng, &[("positive", 6), ("neutral", 3), ("negative", 1)]);
            let (id, owner) = (format!("fb-{:05}", feedback.len() + 1), Some(rep.id.clone()));
            feedback.push(Feedback { id, owner, customer: None, at, sentiment: sentiment.into() });
        }
    }

    // Costs are booked on the first of each month: team marketing and sales, plus org-wide brand marketing.
    let mut costs: Vec<Cost> = Vec::new();
    for &m in &months {
        let ym = m.format("%Y-%m").to_string();
        for t in &TEAMS {
            let marketing = rub(300_000.0 * t.size * g.rng.gen_range(0.85..1.15), 100.0);
            let sales = rub(t.reps.len() as f64 * 180_000.0 * g.rng.gen_range(0.95..1.08), 100.0);
            for (category, amount) in [("marketing", marketing), ("sales", sales)] {
                let (id, team) = (format!("cost-{ym}-{}-{category}", t.id), Some(t.id.to_string()));
                costs.push(Cost { id, at: m, category: category.into(), amount, team });
            }
        }
        let amount = rub(450_000.0 * g.rng.gen_range(0.9..1.1), 100.0);
        costs.push(Cost { id: format!("cost-{ym}-org"), at: m, category: "marketing".into(), amount, team: None });
    }

    // Competitor prices observed monthly, drifting slowly upwards.
    let mut prices: Vec<CompetitorPrice> = Vec::new();
    for (ei, &(product, competitor, factor)) in COMPETITORS.iter().enumerate() {
        let mut f = factor;
        for &m in &months {
            f *= 1.0 + g.rng.gen_range(-0.02..0.025);
            let id = format!("cp-{:02}-{}", ei + 1, m.format("%Y-%m"));
            let price = rub(PRODUCTS[product].2 as f64 * f, 10.0);
            let at = m.and_hms_opt(9, 0, 0).expect("09:00").and_utc();
            let (competitor, product) = (competitor.to_string(), PRODUCTS[product].0.to_string());
            prices.push(CompetitorPrice { id, competitor, product, price, at });
        }
    }

    out.extend(customers.into_iter().map(Record::Customer));
    out.extend(leads.into_iter().map(Record::Lead));
    out.extend(deals.into_iter().map(Record::Deal));
    out.extend(activities.into_iter().map(Record::Activity));
    out.extend(meetings.into_iter().map(Record::MeetingRequest));
    out.extend(feedback.into_iter().map(Record::Feedback));
    out.extend(costs.into_iter().map(Record::Cost));
    out.extend(prices.into_iter().map(Record::CompetitorPrice));
    out
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
