//! KPI Arena's domain layer: what the product means, with no storage, web
//! framework or UI. The store, the services and the UI all build on it; it
//! depends on none of them (the compiler keeps it so: this crate has no sqlx,
//! axum, tokio or leptos to reach for).

pub mod access;
pub mod badges;
pub mod clock;
pub mod fairness;
pub mod format;
pub mod insights;
pub mod kpi;
pub mod lang;
pub mod live;
pub mod notify;
pub mod period;
pub mod records;
pub mod scoring;

rust_i18n::i18n!("locales", fallback = "ru");
// Makes cargo rebuild this crate when a translation changes (the macro above does not tell it).
const _: &str = include_str!("../locales/app.yml");
