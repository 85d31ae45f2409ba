//! The generator: instants crowd around the zone's period boundaries, never near now.

use super::*;

// ---------------------------------------------------------------------------------------------------
// The generator: instants crowd around the zone's period boundaries, never near now.

pub(super) struct Gen {
    pub(super) rng: StdRng,
    pub(super) tz: Tz,
    pub(super) now: Time,
    pub(super) anchors: Vec<Time>,
    pub(super) anchor_days: Vec<NaiveDate>,
}

pub(super) fn midnight(tz: Tz, day: NaiveDate) -> Time {
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).earliest().expect("local midnight exists").to_utc()
}

pub(super) fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Instants this close to now could change sides between the reference's now and the engine's: none are made.
pub(super) fn near_now(now: Time, t: Time) -> bool {
    t > now - Duration::hours(1) && t < now + Duration::hours(3)
}

impl Gen {
    pub(super) fn new(seed: u64, tz: Tz, now: Time) -> Gen {
        let today = now.with_timezone(&tz).date_naive();
        let mut anchor_days: Vec<NaiveDate> = [
            "2025-12-29",
            "2026-01-01",
            "2026-03-08",
            "2026-03-09",
            "2026-03-29",
            "2026-03-30",
            "2026-07-01",
            "2026-10-01",
            "2026-10-25",
            "2026-10-26",
            "2026-11-01",
            "2026-11-02",
            "2026-11-23",
            "2026-12-01",
            "2026-12-28",
            "2027-01-01",
        ]
        .iter()
        .map(|d| date(d))
        .collect();
        let week_start = today - Duration::days(today.weekday().num_days_from_monday() as i64);
        let month_start = today.with_day(1).unwrap();
        anchor_days.extend([today, today + Duration::days(1), week_start, month_start]);
        let mut anchors: Vec<Time> = anchor_days.iter().map(|d| midnight(tz, *d)).collect();
        // The zones' clock changes themselves (UTC instants).
        for t in ["2026-03-08T07:00:00Z", "2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z", "2026-11-01T06:00:00Z"] {
            anchors.push(t.parse().unwrap());
        }
        Gen { rng: StdRng::seed_from_u64(seed), tz, now, anchors, anchor_days }
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    pub(super) fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items.choose(&mut self.rng).unwrap().clone()
    }

    pub(super) fn guarded(&self, t: Time) -> Time {
        if near_now(self.now, t) {
            t + Duration::hours(5)
        } else {
            t
        }
    }

    pub(super) fn jitter(&mut self) -> Duration {
        let sign = if self.chance(0.5) { 1 } else { -1 };
        let d = match self.rng.gen_range(0..10) {
            0 | 1 => Duration::zero(),
            2 => Duration::seconds(1),
            3 => Duration::milliseconds(1),
            4 => Duration::days(1),
            5 => Duration::days(1) + Duration::seconds(1),
            _ => Duration::seconds(self.rng.gen_range(1..36 * 3600)),
        };
        d * sign
    }

    pub(super) fn instant(&mut self) -> Time {
        let t = match self.rng.gen_range(0..100) {
            0..=64 => {
                let anchor = self.pick(&self.anchors.clone());
                anchor + self.jitter()
            }
            65..=84 => {
                let from = midnight(self.tz, date("2025-09-01"));
                from + Duration::seconds(self.rng.gen_range(0..520 * 86400))
            }
            _ => self.now + Duration::seconds(self.rng.gen_range(4 * 3600..40 * 86400)),
        };
        self.guarded(t)
    }

    /// An instant at or after `t`: often a boundary-crowded one, else `t` plus a little.
    pub(super) fn after(&mut self, t: Time) -> Time {
        if self.chance(0.4) {
            for _ in 0..6 {
                let u = self.instant();
                if u >= t {
                    return u;
                }
            }
        }
        let later = match self.rng.gen_range(0..4) {
            0 => Duration::zero(),
            1 => Duration::seconds(self.rng.gen_range(1..3600)),
            _ => Duration::seconds(self.rng.gen_range(1..4 * 86400)),
        };
        self.guarded(t + later)
    }

    /// An instant up to three days before `t`.
    pub(super) fn earlier(&mut self, t: Time) -> Time {
        let back = Duration::seconds(self.rng.gen_range(1..3 * 86400));
        self.guarded(t - back)
    }

    pub(super) fn maybe_after(&mut self, t: Time, p: f64) -> Option<Time> {
        if self.chance(p) {
            Some(self.after(t))
        } else {
            None
        }
    }

    pub(super) fn day(&mut self) -> NaiveDate {
        if self.chance(0.8) {
            let d = self.pick(&self.anchor_days.clone());
            d + Duration::days(self.rng.gen_range(-1..=1))
        } else {
            date("2025-09-01") + Duration::days(self.rng.gen_range(0..520))
        }
    }

    pub(super) fn cents(&mut self, max: i64) -> i64 {
        match self.rng.gen_range(0..40) {
            0 | 1 => 0,
            2 | 3 => self.rng.gen_range(1..max / 100) * 100,
            // Large enough that a float sum would lose cents, small enough for JSON numbers to be exact.
            4 => self.rng.gen_range(1..1_000_000_000_000),
            _ => self.rng.gen_range(1..max),
        }
    }

    pub(super) fn some<T>(&mut self, p: f64, make: impl FnOnce(&mut Gen) -> T) -> Option<T> {
        if self.chance(p) {
            Some(make(self))
        } else {
            None
        }
    }

    pub(super) fn organisation(&mut self) -> Org {
        let mut org = Org::default();
        for (id, region) in [("t1", "North"), ("t2", "Южный регион"), ("t3", "North")] {
            org.add_team(id, Team { name: id.to_uppercase(), region: region.into() });
        }
        let people = [
            ("r1", "Anna", "rep", Some("t1")),
            ("r2", "Boris", "rep", Some("t1")),
            ("r3", "Clara", "rep", Some("t2")),
            ("r4", "Denis", "rep", Some("t3")),
            ("r5", "Elena", "rep", Some("t2")),
            ("r6", "Fedor", "rep", None),
            ("m1", "Mila", "manager", Some("t1")),
        ];
        for (id, name, role, team) in people {
            org.add_user(id, User { name: name.into(), role, team: team.map(Into::into) });
        }
        for (id, price) in [("p1", 10_000), ("p2", 4_999), ("p3", 123_456), ("p4", 77_700)] {
            org.add_product(id, Product { name: format!("Product {id}"), price });
        }
        let owners: Vec<String> = org.users.keys().cloned().collect();
        let regions = ["North", "Южный регион", "East"];
        for i in 0..24 {
            let acquired_at = self.instant();
            let churned_at = match self.rng.gen_range(0..10) {
                0..=5 => None,
                6 => Some(acquired_at),
                _ => Some(self.after(acquired_at)),
            };
            let customer =
                Customer { region: self.pick(&regions).into(), owner: self.pick(&owners), acquired_at, churned_at };
            org.add_customer(&format!("c{i}"), customer);
        }
        let customers: Vec<String> = org.customers.keys().cloned().collect();
        let products: Vec<String> = org.products.keys().cloned().collect();
        for i in 0..70 {
            let created_at = self.instant();
            let first_contact_at = self.maybe_after(created_at, 0.75);
            let followed_up_at = first_contact_at.and_then(|t| self.maybe_after(t, 0.6));
            let qualified_at = self.maybe_after(created_at, 0.5);
            let converted_at = self.maybe_after(qualified_at.unwrap_or(created_at), 0.4);
            let lead = Lead {
                owner: self.pick(&owners),
                created_at,
                source: self.some(0.5, |g| g.pick(&["ads", "webinar", "referral"]).to_string()),
                cost: self.some(0.6, |g| g.cents(20_000)),
                qualified_at,
                first_contact_at,
                followed_up_at,
                converted_at,
                customer: self.some(if converted_at.is_some() { 0.6 } else { 0.1 }, |g| g.pick(&customers)),
            };
            org.add_lead(&format!("l{i}"), lead);
        }
        let leads: Vec<String> = org.leads.keys().cloned().collect();
        for i in 0..90 {
            let created_at = self.instant();
            let status = self.pick(&["open", "won", "won", "lost"]);
            let closed_at = if status == "open" { None } else { Some(self.after(created_at)) };
            let deal = Deal {
                owner: self.pick(&owners),
                customer: self.some(0.6, |g| g.pick(&customers)),
                product: self.some(0.6, |g| g.pick(&products)),
                amount: self.cents(5_000_000),
                deal_type: self.some(0.6, |g| g.pick(&["new", "upsell", "cross_sell"])),
                created_at,
                status,
                closed_at,
            };
            org.add_deal(&format!("d{i}"), deal);
        }
        let activity_types = ["call", "email", "meeting", "demo", "message", "other"];
        for i in 0..80 {
            let activity = Activity {
                owner: self.pick(&owners),
                activity_type: self.pick(&activity_types),
                at: self.instant(),
                customer: self.some(0.5, |g| g.pick(&customers)),
                lead: self.some(0.25, |g| g.pick(&leads)),
            };
            org.add_activity(&format!("a{i}"), activity);
        }
        for i in 0..40 {
            let meeting = Meeting {
                owner: self.pick(&owners),
                proposed_at: self.instant(),
                outcome: self.pick(&["pending", "accepted", "accepted", "declined"]),
                customer: self.some(0.4, |g| g.pick(&customers)),
                lead: self.some(0.3, |g| g.pick(&leads)),
            };
            org.add_meeting(&format!("mr{i}"), meeting);
        }
        for i in 0..40 {
            let feedback = Feedback {
                owner: self.some(0.5, |g| g.pick(&owners)),
                customer: self.some(0.6, |g| g.pick(&customers)),
                at: self.instant(),
                sentiment: self.pick(&["positive", "positive", "neutral", "negative"]),
            };
            org.add_feedback(&format!("f{i}"), feedback);
        }
        let teams: Vec<String> = org.teams.keys().cloned().collect();
        for i in 0..30 {
            let cost = Cost {
                at: self.day(),
                category: self.pick(&["marketing", "sales"]),
                amount: self.cents(2_000_000),
                team: self.some(0.65, |g| g.pick(&teams)),
            };
            org.add_cost(&format!("k{i}"), cost);
        }
        for i in 0..30 {
            let product = self.pick(&products[..3]);
            let ours = org.products[&product].price;
            let price = if self.chance(0.05) { 0 } else { ours * self.rng.gen_range(70..130) / 100 };
            let observed = CompetitorPrice {
                competitor: self.pick(&["Acme", "Globex", "Initech"]).into(),
                product,
                price,
                at: self.instant(),
            };
            org.add_price(&format!("cp{i}"), observed);
        }
        org
    }

    /// Changes a random part of the organisation the way a CRM sync would re-send it; returns what changed.
    pub(super) fn change(&mut self, org: &mut Org) -> Vec<(Kind, String)> {
        let mut changed = Vec::new();
        let teams: Vec<String> = org.teams.keys().cloned().collect();
        let regions = ["North", "Южный регион", "East", "West"];
        for _ in 0..2 {
            let user = self.pick(&["r1", "r2", "r3", "r4", "r5", "r6", "m1"]).to_string();
            let team = self.some(0.8, |g| g.pick(&teams));
            org.users.get_mut(&user).unwrap().team = team;
            changed.push((Kind::User, user));
        }
        if self.chance(0.5) {
            org.teams.get_mut("t3").unwrap().region = self.pick(&["Южный регион", "West"]).into();
            changed.push((Kind::Team, "t3".to_string()));
        }
        let product = self.pick(&["p1", "p2", "p3"]).to_string();
        org.products.get_mut(&product).unwrap().price = self.cents(200_000).max(1);
        changed.push((Kind::Product, product));
        let customer_ids: Vec<String> = org.customers.keys().cloned().collect();
        let owners: Vec<String> = org.users.keys().cloned().collect();
        for id in &customer_ids {
            if !self.chance(0.3) {
                continue;
            }
            let acquired_at = org.customers[id].acquired_at;
            let churned = self.after(acquired_at);
            let owner = self.pick(&owners);
            let region = self.pick(&regions).to_string();
            let c = org.customers.get_mut(id).unwrap();
            match self.rng.gen_range(0..4) {
                0 => c.region = region,
                1 => c.churned_at = Some(churned),
                2 => c.churned_at = None,
                _ => c.owner = owner,
            }
            changed.push((Kind::Customer, id.clone()));
        }
        let products: Vec<String> = org.products.keys().cloned().collect();
        let deal_ids: Vec<String> = org.deals.keys().cloned().collect();
        for id in &deal_ids {
            if !self.chance(0.3) {
                continue;
            }
            let d = org.deals[id].clone();
            let mut n = d.clone();
            match self.rng.gen_range(0..11) {
                0 if d.status == "won" => n.status = "lost",
                1 if d.status == "lost" => n.status = "won",
                2 if d.status == "open" => {
                    n.status = self.pick(&["won", "lost"]);
                    n.closed_at = Some(self.after(d.created_at));
                }
                3 if d.status != "open" => {
                    n.status = "open";
                    n.closed_at = None;
                }
                4 if d.closed_at.is_some() => {
                    let anchor = self.pick(&self.anchors.clone());
                    let nudge = Duration::seconds(self.rng.gen_range(-1..=1));
                    let moved = self.guarded(anchor + nudge);
                    n.closed_at = Some(moved);
                    n.created_at = n.created_at.min(moved);
                }
                5 => n.product = if d.product.is_some() { None } else { Some(self.pick(&products)) },
                6 => n.deal_type = Some(self.pick(&["new", "upsell", "cross_sell"])),
                7 => n.owner = self.pick(&owners),
                8 => n.created_at = self.earlier(d.created_at),
                9 => n.customer = if d.customer.is_some() { None } else { Some(self.pick(&customer_ids)) },
                _ => n.amount = self.cents(5_000_000),
            }
            org.deals.insert(id.clone(), n);
            changed.push((Kind::Deal, id.clone()));
        }
        let lead_ids: Vec<String> = org.leads.keys().cloned().collect();
        for id in &lead_ids {
            if !self.chance(0.2) {
                continue;
            }
            let l = org.leads[id].clone();
            let mut n = l.clone();
            match self.rng.gen_range(0..5) {
                0 => n.converted_at = if l.converted_at.is_some() { None } else { Some(self.after(l.created_at)) },
                1 => n.cost = self.some(0.7, |g| g.cents(20_000)),
                2 => n.owner = self.pick(&owners),
                3 => n.created_at = self.earlier(l.created_at),
                _ => {
                    n.first_contact_at = Some(self.after(l.created_at));
                    n.followed_up_at = None;
                }
            }
            org.leads.insert(id.clone(), n);
            changed.push((Kind::Lead, id.clone()));
        }
        let cost_ids: Vec<String> = org.costs.keys().cloned().collect();
        for id in &cost_ids {
            if !self.chance(0.3) {
                continue;
            }
            let day = self.day();
            let team = self.some(0.6, |g| g.pick(&teams));
            let amount = self.cents(2_000_000);
            let c = org.costs.get_mut(id).unwrap();
            match self.rng.gen_range(0..4) {
                0 => c.at = day,
                1 => c.team = team,
                2 => c.category = if c.category == "sales" { "marketing" } else { "sales" },
                _ => c.amount = amount,
            }
            changed.push((Kind::Cost, id.clone()));
        }
        let feedback_ids: Vec<String> = org.feedback.keys().cloned().collect();
        for id in &feedback_ids {
            if !self.chance(0.2) {
                continue;
            }
            let sentiment = self.pick(&["positive", "neutral", "negative"]);
            let f = org.feedback.get_mut(id).unwrap();
            if f.owner.is_some() {
                f.owner = None;
            } else {
                f.sentiment = sentiment;
            }
            changed.push((Kind::Feedback, id.clone()));
        }
        let activity_ids: Vec<String> = org.activities.keys().cloned().collect();
        for id in &activity_ids {
            if !self.chance(0.1) {
                continue;
            }
            let at = self.instant();
            let owner = self.pick(&owners);
            let a = org.activities.get_mut(id).unwrap();
            match self.rng.gen_range(0..3) {
                0 if a.customer.is_some() => a.customer = None,
                1 => a.owner = owner,
                _ => a.at = at,
            }
            changed.push((Kind::Activity, id.clone()));
        }
        let meeting_ids: Vec<String> = org.meetings.keys().cloned().collect();
        for id in &meeting_ids {
            if self.chance(0.2) {
                let outcome = self.pick(&["pending", "accepted", "declined"]);
                org.meetings.get_mut(id).unwrap().outcome = outcome;
                changed.push((Kind::Meeting, id.clone()));
            }
        }
        let price_ids: Vec<String> = org.prices.keys().cloned().collect();
        for id in &price_ids {
            if self.chance(0.2) {
                let price = self.cents(150_000);
                org.prices.get_mut(id).unwrap().price = price;
                changed.push((Kind::Price, id.clone()));
            }
        }
        // Some records re-sent unchanged: a retry changes nothing.
        for _ in 0..15 {
            let again = self.pick(&org.order);
            changed.push(again);
        }
        changed.shuffle(&mut self.rng);
        changed
    }

    // -- JSON --------------------------------------------------------------------------------------

    pub(super) fn stamp(&mut self, t: Time) -> Value {
        let offset =
            self.pick(&[0, 0, 3 * 3600, -5 * 3600, 5 * 3600 + 1800, -(3 * 3600 + 1800), 14 * 3600, -12 * 3600]);
        let local = t.with_timezone(&FixedOffset::east_opt(offset).unwrap());
        json!(local.to_rfc3339_opts(SecondsFormat::AutoSi, self.chance(0.5)))
    }

    /// An optional field: absent, or null, or its value.
    pub(super) fn put(&mut self, record: &mut Value, field: &str, value: Option<Value>) {
        match value {
            Some(v) => record[field] = v,
            None if self.chance(0.5) => record[field] = Value::Null,
            None => {}
        }
    }

    pub(super) fn put_time(&mut self, record: &mut Value, field: &str, t: Option<Time>) {
        let v = t.map(|t| self.stamp(t));
        self.put(record, field, v);
    }

    pub(super) fn put_text(&mut self, record: &mut Value, field: &str, text: &Option<String>) {
        self.put(record, field, text.as_ref().map(|s| json!(s)));
    }

    pub(super) fn record(&mut self, org: &Org, kind: Kind, id: &str) -> Value {
        let mut r = json!({"id": id});
        match kind {
            Kind::Team => {
                let t = &org.teams[id];
                r["kind"] = json!("team");
                r["name"] = json!(t.name);
                r["region"] = json!(t.region);
            }
            Kind::User => {
                let u = &org.users[id];
                r["kind"] = json!("user");
                r["name"] = json!(u.name);
                r["email"] = json!(format!("{id}@example.com"));
                r["role"] = json!(u.role);
                self.put_text(&mut r, "team", &u.team);
            }
            Kind::Product => {
                let p = &org.products[id];
                r["kind"] = json!("product");
                r["name"] = json!(p.name);
                r["price"] = money(p.price);
            }
            Kind::Customer => {
                let c = &org.customers[id];
                r["kind"] = json!("customer");
                r["name"] = json!(format!("Customer {id}"));
                r["region"] = json!(c.region);
                r["owner"] = json!(c.owner);
                r["acquired_at"] = self.stamp(c.acquired_at);
                self.put_time(&mut r, "churned_at", c.churned_at);
            }
            Kind::Lead => {
                let l = &org.leads[id];
                r["kind"] = json!("lead");
                r["owner"] = json!(l.owner);
                r["created_at"] = self.stamp(l.created_at);
                self.put_text(&mut r, "source", &l.source);
                self.put(&mut r, "cost", l.cost.map(money));
                self.put_time(&mut r, "qualified_at", l.qualified_at);
                self.put_time(&mut r, "first_contact_at", l.first_contact_at);
                self.put_time(&mut r, "followed_up_at", l.followed_up_at);
                self.put_time(&mut r, "converted_at", l.converted_at);
                self.put_text(&mut r, "customer", &l.customer);
            }
            Kind::Deal => {
                let d = &org.deals[id];
                r["kind"] = json!("deal");
                r["owner"] = json!(d.owner);
                self.put_text(&mut r, "customer", &d.customer);
                self.put_text(&mut r, "product", &d.product);
                r["amount"] = money(d.amount);
                if let Some(t) = d.deal_type {
                    r["deal_type"] = json!(t);
                }
                r["created_at"] = self.stamp(d.created_at);
                r["status"] = json!(d.status);
                self.put_time(&mut r, "closed_at", d.closed_at);
            }
            Kind::Activity => {
                let a = &org.activities[id];
                r["kind"] = json!("activity");
                r["owner"] = json!(a.owner);
                r["activity_type"] = json!(a.activity_type);
                r["at"] = self.stamp(a.at);
                self.put_text(&mut r, "customer", &a.customer);
                self.put_text(&mut r, "lead", &a.lead);
            }
            Kind::Meeting => {
                let m = &org.meetings[id];
                r["kind"] = json!("meeting_request");
                r["owner"] = json!(m.owner);
                r["proposed_at"] = self.stamp(m.proposed_at);
                r["outcome"] = json!(m.outcome);
                self.put_text(&mut r, "customer", &m.customer);
                self.put_text(&mut r, "lead", &m.lead);
            }
            Kind::Feedback => {
                let f = &org.feedback[id];
                r["kind"] = json!("feedback");
                self.put_text(&mut r, "owner", &f.owner);
                self.put_text(&mut r, "customer", &f.customer);
                r["at"] = self.stamp(f.at);
                r["sentiment"] = json!(f.sentiment);
            }
            Kind::Cost => {
                let c = &org.costs[id];
                r["kind"] = json!("cost");
                r["at"] = json!(c.at.format("%Y-%m-%d").to_string());
                r["category"] = json!(c.category);
                r["amount"] = money(c.amount);
                self.put_text(&mut r, "team", &c.team);
            }
            Kind::Price => {
                let p = &org.prices[id];
                r["kind"] = json!("competitor_price");
                r["competitor"] = json!(p.competitor);
                r["product"] = json!(p.product);
                r["price"] = money(p.price);
                r["at"] = self.stamp(p.at);
            }
        }
        r
    }
}
