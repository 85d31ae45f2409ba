//! CSV import over HTTP: `POST /import` takes a file of one record kind (a
//! plain form post, or the page's upload with progress) and answers with its
//! preview page; `GET /import/template/{kind}.csv` gives a file to fill in.
//! The pages live in `pages::import`, the storing in `db::imports`.

pub mod sheet;

use crate::db::imports::{self, may_import};
use crate::records::Kind;
use crate::state::AppState;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// The largest file accepted (the records API's body limit).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.into()).into_response()
}

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Some(me) = crate::auth::server::user_of(&state.pool, &session).await else {
        return Redirect::to("/login?next=/import").into_response();
    };
    if !may_import(&me) {
        return refuse(StatusCode::FORBIDDEN, "Only managers and admins import records.");
    }
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("send the file as a form upload: {e}")),
    };
    let mut kind = None;
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return upload_failed(e),
        };
        match field.name() {
            Some("kind") => kind = field.text().await.ok().and_then(|k| Kind::from_name(k.trim())),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes)),
                    Err(e) => return upload_failed(e),
                }
            }
            _ => {}
        }
    }
    let Some(kind) = kind else {
        return refuse(StatusCode::BAD_REQUEST, "Choose the kind of records the file holds.");
    };
    let Some((name, bytes)) = file else {
        return refuse(StatusCode::BAD_REQUEST, "Choose a CSV file to import.");
    };
    if bytes.len() > MAX_FILE_BYTES {
        return too_large();
    }
    match imports::create(&state.pool, &me, kind, &name, &bytes).await {
        Ok(id) => Redirect::to(&format!("/import/{id}")).into_response(),
        Err(e) => {
            tracing::error!("reading an import failed: {e}");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "Reading the file failed; try again.")
        }
    }
}

fn upload_failed(e: axum::extract::multipart::MultipartError) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        refuse(e.status(), format!("The upload broke off: {}", e.body_text()))
    }
}

fn too_large() -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The file is larger than {} MiB; split it.", MAX_FILE_BYTES / 1024 / 1024),
    )
}

/// `GET /import/template/{kind}.csv`: the columns of a kind and one example row.
pub async fn template(Path(file): Path<String>) -> Response {
    let Some(kind) = file.strip_suffix(".csv").and_then(Kind::from_name) else {
        return refuse(StatusCode::NOT_FOUND, "No such record kind.");
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.csv\"", kind.name())),
        ],
        sheet::template(kind),
    )
        .into_response()
}
