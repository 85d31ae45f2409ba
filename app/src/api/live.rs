//! `GET /api/v1/live`: this instance's live figures (admins): open event streams,
//! the lag from a change's commit to its event reaching the streams, views computed.

use super::{ApiError, ApiUser};
use crate::auth::Role;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

pub async fn get_live(State(state): State<AppState>, me: ApiUser) -> Result<Json<Value>, ApiError> {
    me.require(&[Role::Admin], "read the instance's live figures")?;
    let mut figures = serde_json::to_value(state.hub.figures()).map_err(ApiError::internal)?;
    figures["views_computed"] = json!(state.snapshots.computed());
    Ok(Json(figures))
}
