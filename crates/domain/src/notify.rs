//! Notifications as data and words: the moments worth telling a team (`Moment`), which of
//! them a channel may choose (`KINDS`), and their text in the channel's language with names
//! shown as the channel chose (`render`). A burst folds into one message: "3 deals won: …".
//! Each service's markup (Telegram HTML, Slack Block Kit, a Teams Adaptive Card, email) is
//! built from the same `Text`. Pure; unit-tested.

use crate::fairness::Names;
use crate::lang::{Lang, Message};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What a channel can be told, in the order the page lists them.
pub const KINDS: [&str; 10] = [
    "won",
    "badge",
    "level",
    "passed",
    "challenge_launched",
    "challenge_lead",
    "challenge_ended",
    "flag",
    "digest_weekly",
    "digest_monthly",
];

/// What a new channel is told unless its owner chooses otherwise (passing someone and the lead
/// changing hands can be noise; flags are for a managers' channel).
pub const DEFAULT_KINDS: [&str; 5] = ["won", "badge", "level", "challenge_launched", "challenge_ended"];

/// The channel kinds.
pub const CHANNELS: [&str; 4] = ["telegram", "slack", "teams", "email"];

/// One moment, with everything its text needs, as it was when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Moment {
    /// A won deal: the rep, the amount (decimal text) and their rank by won revenue this month.
    Won {
        rep: String,
        deal: String,
        amount: String,
        currency: String,
        rank: Option<i64>,
    },
    /// A badge earned (`badge` is its catalogue id).
    Badge {
        rep: String,
        badge: String,
    },
    /// A level reached (1-based), with its names.
    Level {
        rep: String,
        level: i64,
        name_en: String,
        name_ru: String,
    },
    /// A rep passed others on this month's points leaderboard and is now `rank`.
    Passed {
        rep: String,
        passed: Vec<String>,
        rank: i64,
    },
    /// An anti-gaming flag raised on a rep's records (`about` in the reader's words; `detail` in English).
    Flag {
        rep: String,
        about: Option<crate::fairness::FlagDetail>,
        detail: String,
    },
    ChallengeLaunched {
        challenge: String,
        ends: chrono::NaiveDate,
    },
    /// The challenge's leader is now `rep` (or a team's name).
    ChallengeLead {
        challenge: String,
        rep: String,
    },
    ChallengeEnded {
        challenge: String,
        winners: Vec<String>,
    },
    /// A period's digest: a team's week (month to date against the month's targets) or the
    /// organisation's month, with who is behind, the forecast and the printable report.
    Digest(Digest),
    /// The "Send test" button's message.
    Test {
        channel: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// `week` (a team's) or `month` (the organisation's).
    pub every: String,
    /// The team's or the organisation's name.
    pub scope: String,
    /// The period just ended (`2026-W49`, `2026-11`).
    pub period: String,
    pub currency: String,
    pub kpis: Vec<DigestKpi>,
    /// Reps (a week) or teams (a month) under the pace of a target: (name, KPI id, attainment %).
    pub behind: Vec<(String, String, f64)>,
    /// The month's revenue forecast and its target.
    pub forecast: Option<(f64, Option<f64>)>,
    /// The printable report's address.
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestKpi {
    pub id: String,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub attainment: Option<f64>,
}

impl Digest {
    fn title(&self, lang: Lang) -> String {
        let key = if self.every == "month" { "notify.digest_month" } else { "notify.digest_week" };
        format!("📊 {}", Message::new(key).with("scope", &self.scope).with("period", &self.period).in_lang(lang))
    }

    fn value(&self, id: &str, value: f64, lang: Lang) -> String {
        use crate::kpi::Unit;
        match crate::kpi::find(id).map(|k| k.unit) {
            Some(Unit::Money) => crate::format::money(&format!("{value:.2}"), &self.currency, lang),
            Some(Unit::Count) => crate::format::number(value, 0, lang),
            Some(Unit::Percent) => crate::format::percent(value, 1, lang),
            _ => crate::format::number(value, 1, lang),
        }
    }

    fn lines(&self, lang: Lang) -> Vec<String> {
        let mut lines = Vec::new();
        for k in &self.kpis {
            let name = crate::kpi::find(&k.id).map_or(k.id.as_str(), |d| d.name(lang));
            let value = k.value.map_or("—".to_string(), |v| self.value(&k.id, v, lang));
            lines.push(match (k.target, k.attainment) {
                (Some(t), Some(a)) => Message::new("notify.digest_kpi_target")
                    .with("kpi", name)
                    .with("value", value)
                    .with("target", self.value(&k.id, t, lang))
                    .with("attainment", crate::format::percent(a, 0, lang))
                    .in_lang(lang),
                _ => format!("{name}: {value}"),
            });
        }
        for (who, kpi, attainment) in &self.behind {
            let kpi = crate::kpi::find(kpi).map_or(kpi.as_str(), |d| d.name(lang));
            lines.push(
                Message::new("notify.digest_behind")
                    .with("who", who)
                    .with("kpi", kpi)
                    .with("attainment", crate::format::percent(*attainment, 0, lang))
                    .in_lang(lang),
            );
        }
        if let Some((forecast, target)) = self.forecast {
            let forecast = self.value("revenue", forecast, lang);
            lines.push(match target {
                Some(t) => Message::new("notify.digest_forecast_target")
                    .with("forecast", forecast)
                    .with("target", self.value("revenue", t, lang))
                    .in_lang(lang),
                None => Message::new("notify.digest_forecast").with("forecast", forecast).in_lang(lang),
            });
        }
        lines.push(Message::new("notify.digest_link").with("link", &self.link).in_lang(lang));
        lines
    }
}

impl Moment {
    pub fn kind(&self) -> &'static str {
        match self {
            Moment::Won { .. } => "won",
            Moment::Badge { .. } => "badge",
            Moment::Level { .. } => "level",
            Moment::Passed { .. } => "passed",
            Moment::Flag { .. } => "flag",
            Moment::ChallengeLaunched { .. } => "challenge_launched",
            Moment::ChallengeLead { .. } => "challenge_lead",
            Moment::ChallengeEnded { .. } => "challenge_ended",
            Moment::Digest(d) if d.every == "month" => "digest_monthly",
            Moment::Digest(_) => "digest_weekly",
            Moment::Test { .. } => "test",
        }
    }

    fn icon(&self) -> &'static str {
        match self {
            Moment::Won { .. } => "🎉",
            Moment::Badge { badge, .. } => crate::badges::find(badge).map_or("🏅", |b| b.icon),
            Moment::Level { .. } => "⭐",
            Moment::Passed { .. } => "⬆️",
            Moment::Flag { .. } => "🚩",
            Moment::ChallengeLaunched { .. } => "🏁",
            Moment::ChallengeLead { .. } => "🔥",
            Moment::ChallengeEnded { .. } => "🏆",
            Moment::Digest(_) => "📊",
            Moment::Test { .. } => "✅",
        }
    }

    /// The moment's one line.
    pub fn line(&self, lang: Lang, names: Names) -> String {
        let name = |n: &str| names.show(n, 0);
        let text = match self {
            Moment::Won { rep, amount, currency, rank, .. } => {
                let money = crate::format::money(amount, currency, lang);
                match rank {
                    Some(rank) => Message::new("notify.won_ranked").with("rank", rank),
                    None => Message::new("notify.won"),
                }
                .with("rep", name(rep))
                .with("amount", money)
            }
            Moment::Badge { rep, badge } => {
                let title = crate::badges::find(badge).map_or(badge.as_str(), |b| lang.pick(b.name_ru, b.name_en));
                Message::new("notify.badge").with("rep", name(rep)).with("badge", title)
            }
            Moment::Level { rep, level, name_en, name_ru } => Message::new("notify.level")
                .with("rep", name(rep))
                .with("level", level)
                .with("name", lang.pick(name_ru, name_en)),
            Moment::Passed { rep, passed, rank } => Message::new("notify.passed")
                .with("rep", name(rep))
                .with("passed", passed.iter().map(|p| name(p)).collect::<Vec<_>>().join(", "))
                .with("rank", rank),
            Moment::Flag { rep, about, detail } => Message::new("notify.flag")
                .with("rep", name(rep))
                .with("what", about.as_ref().map_or_else(|| detail.clone(), |a| a.in_lang(lang))),
            Moment::ChallengeLaunched { challenge, ends } => {
                Message::new("notify.challenge_launched").with("challenge", challenge).with_date("ends", *ends)
            }
            Moment::ChallengeLead { challenge, rep } => {
                Message::new("notify.challenge_lead").with("challenge", challenge).with("rep", name(rep))
            }
            Moment::ChallengeEnded { challenge, winners } if winners.is_empty() => {
                Message::new("notify.challenge_ended_none").with("challenge", challenge)
            }
            Moment::ChallengeEnded { challenge, winners } => Message::new("notify.challenge_ended")
                .with("challenge", challenge)
                .with("winners", winners.iter().map(|w| name(w)).collect::<Vec<_>>().join(", ")),
            Moment::Test { channel } => Message::new("notify.test").with("channel", channel),
            Moment::Digest(d) => return d.title(lang),
        };
        format!("{} {}", self.icon(), text.in_lang(lang))
    }
}

/// A folded message lists at most this many lines (the last says how many more there were).
pub const MAX_LINES: usize = 20;

/// A message's words: a title, and one line per moment when several folded into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub title: String,
    pub lines: Vec<String>,
}

/// The message telling `moments` (at least one, oldest first): one moment is its own line; a
/// burst is counted in the title ("3 deals won: …") with a line each.
pub fn render(moments: &[Moment], lang: Lang, names: Names) -> Text {
    match moments {
        [] => Text { title: String::new(), lines: Vec::new() },
        [Moment::Digest(d)] => Text { title: d.title(lang), lines: d.lines(lang) },
        [one] => Text { title: one.line(lang, names), lines: Vec::new() },
        many => {
            let n = many.len() as i64;
            let title = if many.iter().all(|m| matches!(m, Moment::Won { .. })) {
                Message::plural("notify.folded_won", n).in_lang(lang)
            } else {
                Message::plural("notify.folded", n).in_lang(lang)
            };
            let mut lines: Vec<String> = many.iter().take(MAX_LINES).map(|m| m.line(lang, names)).collect();
            if many.len() > MAX_LINES {
                // Within every service's length (Slack's section: 3,000 characters; Telegram: 4,096).
                lines.truncate(MAX_LINES - 1);
                let more = (many.len() - lines.len()) as i64;
                lines.push(Message::plural("notify.more", more).in_lang(lang));
            }
            Text { title: format!("📣 {title}"), lines }
        }
    }
}

impl Text {
    /// Plain text: the title, then a line each.
    pub fn plain(&self) -> String {
        let mut out = self.title.clone();
        for line in &self.lines {
            out.push('\n');
            out.push_str(line);
        }
        out
    }

    /// Telegram's HTML: the title bold, everything escaped.
    pub fn telegram_html(&self) -> String {
        let mut out = format!("<b>{}</b>", escape_html(&self.title));
        for line in &self.lines {
            out.push('\n');
            out.push_str(&escape_html(line));
        }
        out
    }

    /// An email's HTML body.
    pub fn email_html(&self) -> String {
        let mut out = format!("<p><strong>{}</strong></p>", escape_html(&self.title));
        if !self.lines.is_empty() {
            out.push_str("<ul>");
            for line in &self.lines {
                out.push_str(&format!("<li>{}</li>", escape_html(line)));
            }
            out.push_str("</ul>");
        }
        out
    }

    /// A Slack incoming webhook's body: `text` for notifications, Block Kit for the message.
    pub fn slack(&self) -> Value {
        let mut blocks = vec![
            json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*", escape_slack(&self.title))}}),
        ];
        if !self.lines.is_empty() {
            let list = self.lines.iter().map(|l| format!("• {}", escape_slack(l))).collect::<Vec<_>>().join("\n");
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": list}}));
        }
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": "KPI Arena"}]}));
        json!({"text": self.plain(), "blocks": blocks})
    }

    /// A Teams Workflows webhook's body: one Adaptive Card as a message attachment.
    pub fn teams(&self) -> Value {
        let mut body =
            vec![json!({"type": "TextBlock", "text": self.title, "weight": "Bolder", "size": "Medium", "wrap": true})];
        for line in &self.lines {
            body.push(json!({"type": "TextBlock", "text": line, "wrap": true, "spacing": "Small"}));
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                }
            }]
        })
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Slack's three control characters in message text.
fn escape_slack(text: &str) -> String {
    escape_html(text)
}

/// Whether the local hour `hour` falls in quiet hours `[from, to)`, which may wrap midnight
/// (22 to 8 is quiet from 22:00 to 07:59). Equal bounds mean no quiet hours.
pub fn is_quiet(hour: u32, from: u32, to: u32) -> bool {
    match from.cmp(&to) {
        std::cmp::Ordering::Equal => false,
        std::cmp::Ordering::Less => hour >= from && hour < to,
        std::cmp::Ordering::Greater => hour >= from || hour < to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn won(rep: &str, amount: &str, rank: i64) -> Moment {
        Moment::Won {
            rep: rep.into(),
            deal: "d".into(),
            amount: amount.into(),
            currency: "RUB".into(),
            rank: Some(rank),
        }
    }

    #[test]
    fn a_won_deal_reads_in_both_languages_with_names_as_the_channel_shows_them() {
        let m = won("Анна Смирнова", "125000.00", 1);
        assert_eq!(
            m.line(Lang::Ru, Names::Full),
            "🎉 Анна Смирнова: сделка на 125\u{202f}000\u{a0}₽ выиграна, теперь №1 в рейтинге"
        );
        assert_eq!(
            m.line(Lang::En, Names::Full),
            "🎉 Анна Смирнова won a deal worth ₽125,000, now #1 on the leaderboard"
        );
        assert_eq!(m.line(Lang::En, Names::Initials), "🎉 А. С. won a deal worth ₽125,000, now #1 on the leaderboard");
    }

    #[test]
    fn passing_someone_and_a_flag_read_in_both_languages() {
        let m =
            Moment::Passed { rep: "Анна".into(), passed: vec!["Борис".into(), "Вера".into()], rank: 1 };
        assert_eq!(
            m.line(Lang::Ru, Names::Full),
            "⬆️ Анна обходит в рейтинге по очкам за месяц: Борис, Вера — теперь №1"
        );
        assert_eq!(m.line(Lang::En, Names::Full), "⬆️ Анна passed Борис, Вера on this month's points and is now #1");
        let about = crate::fairness::FlagDetail::ZeroWin { deal: "d7".into(), logged: "01.12.2026".into() };
        let f = Moment::Flag { rep: "Анна".into(), about: Some(about.clone()), detail: about.english() };
        assert_eq!(f.line(Lang::En, Names::Full), format!("🚩 A flag on Анна's records: {}", about.english()));
        assert_eq!(f.line(Lang::Ru, Names::Full), format!("🚩 Отметка по записям: Анна. {}", about.in_lang(Lang::Ru)));
    }

    #[test]
    fn a_digest_lists_kpis_against_targets_who_is_behind_and_the_forecast() {
        let d = Moment::Digest(Digest {
            every: "week".into(),
            scope: "T1".into(),
            period: "2026-W49".into(),
            currency: "RUB".into(),
            kpis: vec![
                DigestKpi {
                    id: "revenue".into(),
                    value: Some(125000.0),
                    target: Some(500000.0),
                    attainment: Some(25.0),
                },
                DigestKpi { id: "active_deals".into(), value: Some(3.0), target: None, attainment: None },
            ],
            behind: vec![("Борис".into(), "revenue".into(), 12.4)],
            forecast: Some((450000.0, Some(500000.0))),
            link: "https://arena.example/team/report?team=t1&period=2026-12".into(),
        });
        let text = render(&[d.clone()], Lang::En, Names::Full);
        assert_eq!(text.title, "📊 T1: the week 2026-W49");
        assert_eq!(
            text.lines,
            [
                "Revenue: ₽125,000 (target ₽500,000, 25%)",
                "Active deals: 3",
                "Behind the pace: Борис, Revenue 12%",
                "Forecast for the month: ₽450,000 against a target of ₽500,000",
                "The report: https://arena.example/team/report?team=t1&period=2026-12",
            ]
        );
        let ru = render(&[d], Lang::Ru, Names::Full);
        assert_eq!(ru.title, "📊 T1: итоги недели 2026-W49");
        assert_eq!(ru.lines[0], "Выручка: 125\u{202f}000\u{a0}₽ (цель 500\u{202f}000\u{a0}₽, 25\u{a0}%)");
    }

    #[test]
    fn a_burst_folds_into_one_counted_message() {
        let burst = [won("Anna", "100.00", 2), won("Boris", "2500.50", 1), won("Anna", "10.00", 2)];
        let text = render(&burst, Lang::En, Names::Full);
        assert_eq!(text.title, "📣 3 deals won");
        assert_eq!(text.lines.len(), 3);
        assert_eq!(text.lines[1], "🎉 Boris won a deal worth ₽2,500.50, now #1 on the leaderboard");
        assert_eq!(render(&burst, Lang::Ru, Names::Full).title, "📣 Выиграно 3 сделки");
        let mixed = [won("Anna", "100.00", 2), Moment::Badge { rep: "Anna".into(), badge: "first_win".into() }];
        assert_eq!(render(&mixed, Lang::Ru, Names::Full).title, "📣 2 новости");
        assert_eq!(render(&mixed, Lang::En, Names::Full).title, "📣 2 news");
        // Twenty lines at most: 25 wins show 19 and "…and 6 more".
        let many: Vec<Moment> = (0..25).map(|i| won("Anna", &format!("{i}.00"), 1)).collect();
        let text = render(&many, Lang::Ru, Names::Full);
        assert_eq!((text.title.as_str(), text.lines.len()), ("📣 Выиграно 25 сделок", 20));
        assert_eq!(text.lines[19], "…и ещё 6");
        assert_eq!(render(&many, Lang::En, Names::Full).lines[19], "…and 6 more");
    }

    #[test]
    fn each_service_gets_its_markup_with_text_escaped() {
        let text = Text { title: "A <b> & co".into(), lines: vec!["x < y".into()] };
        assert_eq!(text.telegram_html(), "<b>A &lt;b&gt; &amp; co</b>\nx &lt; y");
        assert_eq!(text.email_html(), "<p><strong>A &lt;b&gt; &amp; co</strong></p><ul><li>x &lt; y</li></ul>");
        let slack = text.slack();
        assert_eq!(slack["blocks"][0]["text"]["text"], "*A &lt;b&gt; &amp; co*");
        assert_eq!(slack["blocks"][1]["text"]["text"], "• x &lt; y");
        assert_eq!(slack["text"], "A <b> & co\nx < y");
        let card = &text.teams()["attachments"][0];
        assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(card["content"]["body"][0]["text"], "A <b> & co");
        assert_eq!(card["content"]["body"][1]["text"], "x < y");
    }

    #[test]
    fn quiet_hours_may_wrap_midnight() {
        assert!(is_quiet(23, 22, 8) && is_quiet(0, 22, 8) && is_quiet(7, 22, 8));
        assert!(!is_quiet(8, 22, 8) && !is_quiet(21, 22, 8));
        assert!(is_quiet(13, 13, 14) && !is_quiet(14, 13, 14));
        assert!(!is_quiet(5, 6, 6));
    }

    #[test]
    fn moments_keep_their_shape_as_json() {
        let m = Moment::ChallengeEnded { challenge: "Q4".into(), winners: vec!["Anna".into()] };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v, json!({"kind": "challenge_ended", "challenge": "Q4", "winners": ["Anna"]}));
        assert_eq!(serde_json::from_value::<Moment>(v).unwrap(), m);
        assert!(KINDS.contains(&m.kind()));
    }
}
