//! CSV import over HTTP: `POST /import` takes a file of one record kind (a
//! plain form post, or the page's upload with progress) and answers with its
//! preview page; `GET /import/template/{kind}.csv` gives a file to fill in.
//! The pages live in `pages::import`, the storing in `services::imports`.

use crate::i18n::{Lang, Message};
use crate::records::{Field, FieldType, Kind};
use crate::reports::Spreadsheet;
use crate::state::AppState;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use services::access::may_import;
use services::imports;
use tower_sessions::Session;

/// The largest file accepted (the records API's body limit).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// A refusal in the reader's language (the i18n middleware put it in the request).
fn refuse(status: StatusCode, lang: Lang, message: impl Into<Message>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.into().in_lang(lang)).into_response()
}

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    lang: Option<Extension<Lang>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let lang = lang.map(|Extension(l)| l).unwrap_or(Lang::En);
    let Some(me) = crate::auth::server::user_of(&state.pool, &session).await else {
        return Redirect::to("/login?next=/import").into_response();
    };
    if !may_import(&me) {
        return refuse(StatusCode::FORBIDDEN, lang, "err.import_forbidden");
    }
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, lang, Message::new("err.import_broken").with("reason", e)),
    };
    let mut kind = None;
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return upload_failed(lang, e),
        };
        match field.name() {
            Some("kind") => kind = field.text().await.ok().and_then(|k| Kind::from_name(k.trim())),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes)),
                    Err(e) => return upload_failed(lang, e),
                }
            }
            _ => {}
        }
    }
    let Some(kind) = kind else {
        return refuse(StatusCode::BAD_REQUEST, lang, "err.import_no_kind");
    };
    let Some((name, bytes)) = file else {
        return refuse(StatusCode::BAD_REQUEST, lang, "err.import_no_file");
    };
    if bytes.len() > MAX_FILE_BYTES {
        return too_large(lang);
    }
    match imports::create(&state.pool, &me, kind, &name, bytes.to_vec()).await {
        Ok(id) => Redirect::to(&format!("/import/{id}")).into_response(),
        Err(imports::ImportError::Busy) => refuse(StatusCode::TOO_MANY_REQUESTS, lang, "err.import_busy"),
        Err(e) => {
            tracing::error!("reading an import failed: {e}");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, lang, "err.import_failed")
        }
    }
}

fn upload_failed(lang: Lang, e: axum::extract::multipart::MultipartError) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(lang)
    } else {
        refuse(e.status(), lang, Message::new("err.import_broken").with("reason", e.body_text()))
    }
}

fn too_large(lang: Lang) -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        lang,
        Message::new("err.import_too_large").with("mib", MAX_FILE_BYTES / 1024 / 1024),
    )
}

/// `GET /import/template/{kind}.csv`: the columns of a kind and one example
/// row naming what the reader has (a rep by email, a customer by name), so the
/// file passes its own import.
pub async fn template(
    State(state): State<AppState>,
    session: Session,
    lang: Option<Extension<Lang>>,
    Path(file): Path<String>,
) -> Response {
    let lang = lang.map(|Extension(l)| l).unwrap_or(Lang::En);
    let Some(kind) = file.strip_suffix(".csv").and_then(Kind::from_name) else {
        return refuse(StatusCode::NOT_FOUND, lang, Message::new("err.import_no_template").with("file", &file));
    };
    let Some(me) = crate::auth::server::user_of(&state.pool, &session).await else {
        return Redirect::to("/login?next=/import").into_response();
    };
    match imports::template(&state.pool, &me, kind).await {
        Ok(row) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.csv\"", kind.name())),
            ],
            write_template(&row, Spreadsheet::for_reader(lang)),
        )
            .into_response(),
        Err(e) => {
            tracing::error!("writing a template failed: {e}");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, lang, "err.template_failed")
        }
    }
}

/// The header and the example row in the reader's spreadsheet convention (the
/// import reads either): amounts with the reader's decimal mark.
fn write_template(row: &[(Field, String)], sheet: Spreadsheet) -> Vec<u8> {
    let mut out = sheet.writer();
    let example = row.iter().map(|(f, v)| if f.ty == FieldType::Money { sheet.decimal(v) } else { v.clone() });
    let written = out.write_record(row.iter().map(|(f, _)| f.name)).and_then(|_| out.write_record(example));
    debug_assert!(written.is_ok(), "writing to memory");
    out.into_inner().unwrap_or_default()
}
