//! An operator's acts on a login, from its account's page: disable or
//! enable it, change its role, remove its second factor. Through the admin
//! API's own function ([`act_on_login`]), recorded in the audit log under
//! the operator's login. Support is refused (403) and nothing changes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Staff;
use super::accounts::refused;
use crate::api::AppState;
use crate::api::logins::{LoginAction, LoginActionBody, act_on_login};
use crate::api::operate::record_act;
use crate::console::{SignedForm, api_error_page, error_page, from_wire, url_escape};
use crate::people::Role;

/// The fields of a login's forms.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    /// `role`: the new role.
    #[serde(default)]
    role: String,
}

/// What the account's page says after `action` (its path name) was done.
pub(super) fn done_text(action: &str) -> Option<String> {
    let text = match from_wire(action)? {
        LoginAction::Disable => "Login disabled: its sessions ended.",
        LoginAction::Enable => "Login enabled.",
        LoginAction::Role => "Role changed.",
        LoginAction::RemoveSecondFactor => "Second factor removed; the person was emailed.",
    };
    Some(text.to_string())
}

/// `POST /console/admin/logins/{id}/{action}`.
pub(crate) async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    SignedForm { by: staff, form }: SignedForm<LoginForm, Staff>,
) -> Response {
    if let Err(refusal) = staff.check_may_act() {
        return refusal;
    }
    let Some(action) = from_wire::<LoginAction>(&action) else {
        return crate::console::not_found().await;
    };
    let login = match state.people.login(&id).await {
        Ok(Some(login)) => login,
        Ok(None) => return crate::console::not_found().await,
        Err(e) => return error_page(&e),
    };
    let role = match form.role.trim() {
        "" => None,
        r => match from_wire::<Role>(r) {
            Some(role) => Some(role),
            None => {
                let why = "Choose a role: user, operator or support. Nothing was changed.";
                return refused(
                    &state,
                    &staff,
                    &login.account_id,
                    "login",
                    StatusCode::BAD_REQUEST,
                    why.into(),
                )
                .await;
            }
        },
    };
    let actor = staff.person.actor().to_string();
    let body = LoginActionBody { role };
    match act_on_login(&state, &id, action, &body, &actor).await {
        Ok(after) => {
            let details = serde_json::json!({ "via": "console", "login_id": id, "body": body });
            let name = format!("login.{}", action.name());
            record_act(&state, &actor, &name, &after.account_id, details).await;
            Redirect::to(&format!(
                "/console/admin/accounts/{}?login_done={}",
                url_escape(&after.account_id),
                action.name()
            ))
            .into_response()
        }
        Err(e) if e.code == crate::api::ErrorCode::InternalError => api_error_page(&e),
        Err(e) => {
            let status = e.status_and_type().0;
            refused(
                &state,
                &staff,
                &login.account_id,
                "login",
                status,
                crate::console::in_words(&e),
            )
            .await
        }
    }
}
