//! The authorization matrix's rows for the integrations: CRM connectors (admins only), their
//! webhooks (no sign-in: the address's secret), and notification channels (admins for all,
//! managers for their own team's, reps none; anyone's own Telegram chat).

use super::{form, none, row, s, Call::*, Ids, Row, Send, A, F};
use serde_json::json;

pub(super) fn rows(ids: &Ids) -> Vec<Row> {
    vec![
        // CRM connectors: admins only. There is no connector, and no CRM answers at port 9, so
        // an admin's calls that need one are answered 400 with the reason; the rest are refused.
        row(ServerFn("connectors_view"), "", none(), [A, A, F, F, F, 200]),
        row(
            ServerFn("test_connector"),
            "",
            s(form(&[("kind", "amocrm"), ("base_url", "http://127.0.0.1:9"), ("token", "t"), ("since", "2026-10-01")])),
            [A, A, F, F, F, 400],
        ),
        row(
            ServerFn("save_connector"),
            "",
            s(form(&[("kind", "amocrm"), ("base_url", "http://127.0.0.1:9"), ("token", "t")])),
            [A, A, F, F, F, 400],
        ),
        row(
            ServerFn("map_crm_user"),
            "",
            s(form(&[("connector", "999999"), ("crm_user", "1"), ("choice", "ignore")])),
            [A, A, F, F, F, 400],
        ),
        row(
            ServerFn("start_backfill"),
            "",
            s(form(&[("connector", "999999"), ("from", "2026-10-01")])),
            [A, A, F, F, F, 400],
        ),
        row(
            ServerFn("set_crm_stage"),
            "",
            s(form(&[("connector", "999999"), ("stage", "1:142"), ("outcome", "won")])),
            [A, A, F, F, F, 400],
        ),
        // An admin's empty integration id is refused before amoCRM is called.
        row(
            ServerFn("authorize_amocrm"),
            "",
            s(form(&[
                ("base_url", "https://acme.amocrm.ru"),
                ("client_id", ""),
                ("client_secret", "x"),
                ("code", "x"),
                ("redirect_uri", "https://arena.example/"),
            ])),
            [A, A, F, F, F, 400],
        ),
        row(
            ServerFn("set_crm_fields"),
            "",
            s(form(&[("connector", "999999"), ("customer", ""), ("product", ""), ("deal_type", "")])),
            [A, A, F, F, F, 400],
        ),
        row(
            ServerFn("set_crm_deal_type"),
            "",
            s(form(&[("connector", "999999"), ("value", "x"), ("deal_type", "upsell")])),
            [A, A, F, F, F, 400],
        ),
        row(ServerFn("set_hook_token"), "", s(form(&[("connector", "999999"), ("secret", "x")])), [A, A, F, F, F, 400]),
        row(ServerFn("retry_crm_event"), "", s(form(&[("connector", "999999"), ("event", "1")])), [A, A, F, F, F, 400]),
        row(ServerFn("reconcile_connector"), "", s(form(&[("connector", "999999")])), [A, A, F, F, F, 200]),
        row(ServerFn("delete_connector"), "", s(form(&[("connector", "999999")])), [A, A, F, F, F, 400]),
        // Notification channels: admins for all, managers for their own team's (t1's channel is
        // not found for t2's manager), reps none. Slack is not called when a channel is saved.
        row(ServerFn("notifications_view"), "", none(), [A, A, F, 200, 200, 200]),
        row(
            ServerFn("add_channel"),
            "",
            s(form(&[
                ("kind", "slack"),
                ("name", "Matrix"),
                ("team", "t1"),
                ("lang", "en"),
                ("names", "full"),
                ("moments", "won,badge"),
                ("min_amount", ""),
                ("quiet_from", ""),
                ("quiet_to", ""),
                ("secret", "http://127.0.0.1:9/slack/matrix"),
            ])),
            [A, A, F, 200, F, 200],
        ),
        row(
            ServerFn("save_channel"),
            "",
            s(form(&[
                ("id", &ids.channel),
                ("name", "T1 Slack"),
                ("lang", "en"),
                ("names", "initials"),
                ("moments", "won"),
                ("min_amount", "100"),
                ("quiet_from", "22"),
                ("quiet_to", "8"),
            ])),
            [A, A, F, 200, -400, 200],
        ),
        row(ServerFn("test_channel"), "", s(form(&[("id", &ids.channel)])), [A, A, F, 400, -400, 400]),
        row(ServerFn("new_bind_code"), "", s(form(&[("id", &ids.channel)])), [A, A, F, 400, -400, 400]),
        row(ServerFn("channel_bound"), "", s(form(&[("id", &ids.channel)])), [A, A, F, 200, -400, 200]),
        // Anyone's own Telegram chat: there is no organisation bot here, so binding one is a 400.
        row(ServerFn("my_telegram"), "", none(), [A, A, 200, 200, 200, 200]),
        row(ServerFn("bind_my_telegram"), "", none(), [A, A, 400, 400, 400, 400]),
        row(ServerFn("unbind_my_telegram"), "", none(), [A, A, 200, 200, 200, 200]),
        row(ServerFn("delete_channel"), "", s(form(&[("id", &ids.channel)])), [A, A, F, 200, -400, 400]),
        // A CRM's webhook: no sign-in; the address's secret is the check (none matches here).
        row(
            Api("POST", "/api/v1/hooks/{kind}/{key}"),
            "/api/v1/hooks/amocrm/0123456789abcdef",
            s(Send::Json(json!({}))),
            [-404, -404, -404, -404, -404, -404],
        ),
    ]
}
