//! `/settings`: the organisation's name, currency, time zone (periods follow
//! it) and default language. Admins only.

use crate::auth::CurrentUser;
use crate::components::TopBar;
use crate::error::AppError;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub me: CurrentUser,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub language: String,
    pub time_zones: Vec<Choice>,
}

/// Time zones offered first; any IANA name is accepted.
#[cfg(feature = "ssr")]
const COMMON_ZONES: [&str; 16] = [
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Vladivostok",
    "Europe/Minsk",
    "Asia/Almaty",
    "Asia/Tashkent",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "UTC",
];

#[cfg(feature = "ssr")]
async fn admin() -> Result<CurrentUser, AppError> {
    let me = crate::auth::server::require_user().await?;
    if me.role != crate::auth::Role::Admin {
        return Err(crate::auth::server::forbidden("err.settings_admins").await);
    }
    Ok(me)
}

#[server(prefix = "/api", endpoint = "org_settings")]
pub async fn load_settings() -> Result<SettingsView, AppError> {
    let me = admin().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let s = store::settings::load(&pool).await.map_err(AppError::server)?;
    let mut time_zones: Vec<Choice> =
        COMMON_ZONES.iter().map(|z| Choice { value: z.to_string(), label: z.replace('_', " ") }).collect();
    if !COMMON_ZONES.contains(&s.time_zone.name()) {
        time_zones.push(Choice { value: s.time_zone.name().into(), label: s.time_zone.name().into() });
    }
    Ok(SettingsView {
        me,
        name: s.name,
        currency: s.currency,
        time_zone: s.time_zone.name().to_string(),
        language: s.language,
        time_zones,
    })
}

#[server(prefix = "/api", endpoint = "save_org_settings")]
pub async fn save_settings(
    name: String,
    currency: String,
    time_zone: String,
    language: String,
) -> Result<(), AppError> {
    admin().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    store::settings::save(&pool, &name, &currency.trim().to_uppercase(), time_zone.trim(), &language).await.map_err(
        |e| match e {
            store::settings::SettingsError::Invalid(problems) => {
                let lang = crate::i18n::use_lang();
                crate::i18n::refusal(problems.iter().map(|m| m.in_lang(lang)).collect::<Vec<_>>().join("; "))
            }
            e => AppError::server(e),
        },
    )?;
    // The name, currency, zone and language show on every screen: every instance re-reads.
    services::live::notify(&pool, &services::live::LiveEvent::Changed).await.map_err(AppError::server)
}

#[component]
pub fn Settings() -> impl IntoView {
    let save = ServerAction::<SaveSettings>::new();
    let data = Resource::new(move || save.version().get(), |_| load_settings());
    let lang = crate::i18n::use_lang();
    view! {
        <Transition fallback=move || view! { <p class="muted page">{lang.t("common.loading")}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <SettingsForm view save/> }.into_any(),
                    Err(e) => crate::components::failed(e).into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SettingsForm(view: SettingsView, save: ServerAction<SaveSettings>) -> impl IntoView {
    let SettingsView { me, name, currency, time_zone, language, time_zones } = view;
    let lang = crate::i18n::use_lang();
    let languages = crate::i18n::Lang::ALL
        .into_iter()
        .map(|l| Choice { value: l.code().into(), label: l.t("lang.name") })
        .collect::<Vec<_>>();
    let result = move || match save.value().get() {
        Some(Ok(())) => Some(view! { <p class="saved" role="status">{lang.t("targets.saved")}</p> }.into_any()),
        Some(Err(e)) => Some(view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()),
        None => None,
    };
    view! {
        <TopBar user=me/>
        <main class="page narrow">
            <h1>{lang.t("nav.settings")}</h1>
            <ActionForm action=save attr:class="card form">
                <label for="name">{lang.t("settings.name")}</label>
                <input id="name" type="text" name="name" value=name required/>
                <label for="currency">{lang.t("settings.currency")}</label>
                <input id="currency" type="text" name="currency" value=currency maxlength="3" required/>
                <label for="time_zone">{lang.t("settings.time_zone")}</label>
                <select id="time_zone" name="time_zone">{options(time_zones, &time_zone)}</select>
                <label for="language">{lang.t("settings.language")}</label>
                <select id="language" name="language">{options(languages, &language)}</select>
                <button type="submit" class="primary">{lang.t("common.save")}</button>
            </ActionForm>
            {result}
        </main>
    }
}
