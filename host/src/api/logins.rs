//! People's logins, for operators (admin key, and the console's operator
//! pages through [`act_on_login`]): read one, disable or enable it, change
//! its role, or remove its second factor for a person who lost their app.

use axum::extract::State;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::admin::{action, admin_only, optional_body};
use super::error::{ApiError, ErrorCode};
use super::extract::PathParams;
use super::invitations::people_error;
use crate::auth::Principal;
use crate::people::{Login, Role};

/// A login as operators see it (never its password or second factor's
/// secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginView {
    /// `user_…`.
    id: String,
    /// The email address it logs in with.
    email: String,
    /// The account whose credits and keys it uses.
    account_id: String,
    /// What it may do in the console.
    role: Role,
    /// Whether the address was confirmed.
    email_verified: bool,
    /// Whether an operator disabled it.
    disabled: bool,
    /// Whether it has a second factor (authenticator codes).
    second_factor: bool,
    /// When it was made (RFC 3339).
    created_at: String,
}

impl From<Login> for LoginView {
    fn from(l: Login) -> Self {
        Self {
            email_verified: l.email_verified_at.is_some(),
            second_factor: l.second_factor.is_some(),
            id: l.id,
            email: l.email,
            account_id: l.account_id,
            role: l.role,
            disabled: l.disabled,
            created_at: l.created_at,
        }
    }
}

/// What `POST /admin/v1/logins/{login_id}/{action}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginAction {
    /// It cannot log in, and its sessions end.
    Disable,
    /// It can log in again.
    Enable,
    /// Gives it the body's `role`.
    Role,
    /// Removes its second factor (the person is told by email).
    RemoveSecondFactor,
}

impl LoginAction {
    /// The action as its path segment names it (`disable`,
    /// `remove_second_factor`…), in the audit log too.
    pub fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Enable => "enable",
            Self::Role => "role",
            Self::RemoveSecondFactor => "remove_second_factor",
        }
    }
}

/// The fields a login action reads.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginActionBody {
    /// `role`: the new role.
    pub role: Option<Role>,
}

/// Does `action` to login `login_id` for `actor` (a login id, or `admin`
/// for the admin key). A login cannot disable itself or change its own
/// role: an operator would lock themselves out.
pub(crate) async fn act_on_login(
    state: &AppState,
    login_id: &str,
    action: LoginAction,
    body: &LoginActionBody,
    actor: &str,
) -> Result<Login, ApiError> {
    let people = &state.people;
    if actor == login_id && matches!(action, LoginAction::Disable | LoginAction::Role) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "you cannot disable your own login or change its role; ask another operator",
        ));
    }
    let login = match action {
        LoginAction::Disable => people.set_disabled(login_id, true).await,
        LoginAction::Enable => people.set_disabled(login_id, false).await,
        LoginAction::Role => {
            let role = body.role.ok_or_else(|| {
                ApiError::invalid("role", "role is required: user, operator or support")
            })?;
            people.set_role(login_id, role).await
        }
        LoginAction::RemoveSecondFactor => people.remove_second_factor(login_id).await,
    };
    login.map_err(people_error)
}

/// One login.
#[utoipa::path(get, path = "/admin/v1/logins/{login_id}", tag = "admin",
    params(("login_id" = String, Path, description = "`user_…`")),
    security(("admin_key" = [])),
    responses((status = 200, description = "The login", body = LoginView)))]
pub async fn get_login(
    State(state): State<AppState>,
    who: Principal,
    PathParams(login_id): PathParams<String>,
) -> Result<axum::Json<LoginView>, ApiError> {
    admin_only(&who)?;
    let login = state
        .people
        .login(&login_id)
        .await
        .map_err(people_error)?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "There is no such login."))?;
    Ok(axum::Json(login.into()))
}

/// Acts on a login: `disable` (its sessions end), `enable`, `role` (with
/// `role`: `user`, `operator` or `support`), or `remove_second_factor`
/// (for a person who lost their authenticator app; they are emailed). The
/// body may be empty.
#[utoipa::path(post, path = "/admin/v1/logins/{login_id}/{action}", tag = "admin",
    params(("login_id" = String, Path, description = "`user_…`"),
        ("action" = inline(LoginAction), Path, description = "What to do")),
    request_body(content = Option<LoginActionBody>, description = "`role` for the `role` action; may be empty"),
    security(("admin_key" = [])),
    responses((status = 200, description = "The login after the action", body = LoginView)))]
pub async fn login_action(
    State(state): State<AppState>,
    who: Principal,
    PathParams((login_id, act)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<axum::Json<LoginView>, ApiError> {
    admin_only(&who)?;
    let body: LoginActionBody = optional_body(&body)?;
    let act = action::<LoginAction>(&act, "login")?;
    let login = act_on_login(&state, &login_id, act, &body, "admin").await?;
    Ok(axum::Json(login.into()))
}
