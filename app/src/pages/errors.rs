//! The domain's refusals as server-function errors. The 403, 500 and refusal
//! pages a failed load shows are `components::failure` (`Failed`).

/// The domain's refusals as server-function errors in the reader's language
/// (a database failure stays as it is: the 500 page, cause in the log).
#[cfg(feature = "ssr")]
pub mod refusals {
    use crate::auth::server::forbidden;
    use crate::error::AppError;
    use crate::i18n::{error, Message};
    use services::challenges::ChallengeError;
    use services::deals::DealError;
    use store::users::UserError;

    pub fn user(e: UserError) -> AppError {
        match e {
            UserError::Invalid(m) => error(m),
            UserError::EmailTaken(email) => error(Message::new("err.email_taken").with("email", email)),
            UserError::UnknownTeam(id) => error(Message::new("err.unknown_team").with("id", id)),
            UserError::UnknownEmail(email) => error(Message::new("err.unknown_email").with("email", email)),
            e @ UserError::Db(_) => AppError::server(e),
        }
    }

    pub async fn challenge(e: ChallengeError) -> AppError {
        match e {
            ChallengeError::Invalid(m) => error(m),
            ChallengeError::Forbidden(m) => forbidden(m).await,
            ChallengeError::NotFound(id) => error(Message::new("err.no_challenge").with("id", id)),
            e @ ChallengeError::Db(_) => AppError::server(e),
        }
    }

    pub async fn deal(e: DealError) -> AppError {
        match e {
            DealError::Invalid(m) => error(m),
            DealError::Forbidden(m) => forbidden(m).await,
            // The records validation's problems (English, the API's words), worded for the reader.
            DealError::Record(text) => {
                crate::i18n::refusal(domain::records::problems_in(&text, crate::i18n::use_lang()))
            }
            e @ DealError::Db(_) => AppError::server(e),
        }
    }

    pub async fn screen(e: services::screens::ScreenError) -> AppError {
        use services::screens::ScreenError;
        match e {
            ScreenError::Invalid(m) => error(m),
            ScreenError::Forbidden(m) => forbidden(m).await,
            ScreenError::NotFound(id) => error(Message::new("err.no_display").with("id", id)),
            e @ ScreenError::Db(_) => AppError::server(e),
        }
    }

    /// A period in the address or a form that does not parse.
    pub fn period(e: crate::period::PeriodParseError) -> AppError {
        error(Message::new("err.not_a_period").with("text", e.0))
    }

    /// A KPI computation over `scope`: an unknown team, region or user is named.
    pub fn kpi(e: store::kpis::KpiError, scope: &crate::kpi::Scope) -> AppError {
        match e {
            store::kpis::KpiError::UnknownScope(_) => error(Message::new("err.unknown_scope").with("scope", scope)),
            e => AppError::server(e),
        }
    }

    /// As [`kpi`], for a failure shared by every reader of one snapshot (`services::snapshots`).
    pub fn kpi_shared(e: std::sync::Arc<store::kpis::KpiError>, scope: &crate::kpi::Scope) -> AppError {
        match &*e {
            store::kpis::KpiError::UnknownScope(_) => error(Message::new("err.unknown_scope").with("scope", scope)),
            e => AppError::server(e),
        }
    }

    /// A scope in the address or a form that does not parse.
    pub fn scope(text: &str) -> AppError {
        error(Message::new("err.not_a_scope").with("text", text))
    }
}
