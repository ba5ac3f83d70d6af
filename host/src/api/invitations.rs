//! Invitations to the console (admin key): an operator invites a person
//! with a role, and gets the link the invitation's email also carries.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::admin::admin_only;
use super::error::{ApiError, ErrorCode};
use super::extract::JsonBody;
use crate::auth::Principal;
use crate::people::{PeopleError, Role};

/// Body of an invitation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// The person's email address (it must not have a login yet).
    email: String,
    /// What they may do in the console (`user` if omitted).
    #[serde(default = "user")]
    role: Role,
}

fn user() -> Role {
    Role::User
}

/// An invitation made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    /// Who was invited, as logins are keyed (trimmed, lowercased).
    email: String,
    /// The role they get when they accept.
    role: Role,
    /// The link that accepts it (also emailed): it works once.
    link: String,
    /// When the link stops working (RFC 3339).
    expires_at: String,
}

/// A refusal of the people service, as the API answers it.
pub(crate) fn people_error(e: PeopleError) -> ApiError {
    match e {
        PeopleError::InvalidEmail => ApiError::invalid("email", e.to_string()),
        PeopleError::EmailTaken => {
            ApiError::new(ErrorCode::Conflict, e.to_string()).with_param("email")
        }
        PeopleError::SignupClosed | PeopleError::InviteOnly => {
            ApiError::new(ErrorCode::Conflict, e.to_string())
        }
        PeopleError::NoSuchLogin => ApiError::new(ErrorCode::NotFound, e.to_string()),
        _ => ApiError::internal(),
    }
}

/// Invites a person to the console with a role (`user`, `operator` or
/// `support`): emails them a link to choose their password, and answers
/// it. Refused when the address already has a login, or when `[accounts]
/// signup = "closed"`.
#[utoipa::path(post, path = "/admin/v1/invitations", tag = "admin", request_body = NewInvitation,
    security(("admin_key" = [])),
    responses((status = 201, description = "The invitation, with its link", body = InvitationView)))]
pub async fn invite(
    State(state): State<AppState>,
    who: Principal,
    JsonBody(body): JsonBody<NewInvitation>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let invitation = state
        .people
        .invite(&body.email, body.role)
        .await
        .map_err(people_error)?;
    let expires_at = time::OffsetDateTime::from_unix_timestamp(invitation.expires_at)
        .map_err(|_| ApiError::internal())?;
    let view = InvitationView {
        email: crate::people::normalise_email(&body.email).map_err(people_error)?,
        role: body.role,
        link: invitation.link,
        expires_at: crate::time::to_rfc3339(expires_at),
    };
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}
