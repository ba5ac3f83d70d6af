//! The operators' pages under `/console/admin/…`: for staff only. An
//! operator sees and acts; support reads (every action a form could post is
//! refused on the server, not only hidden); a user is refused the pages.

pub(super) mod accounts;
pub(super) mod audit;
pub(super) mod disputes;
pub(super) mod logins;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use super::{ErrorPage, Person, page, wire};
use crate::api::AppState;
use crate::people::Role;

/// A logged-in operator or support person; anyone else is answered 403.
pub(crate) struct Staff {
    /// Who.
    pub person: Person,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let person = Person::from_request_parts(parts, state).await?;
        match person.role() {
            Role::Operator | Role::Support => Ok(Staff { person }),
            Role::User => Err(refused("This page is for the gateway's operators.")),
        }
    }
}

impl Staff {
    /// Whether the person may change accounts (an operator; support only
    /// reads).
    pub fn may_act(&self) -> bool {
        self.person.role() == Role::Operator
    }

    /// Refuses an action to anyone but an operator.
    // The error is the page to answer at once, as `Person::check`'s.
    #[allow(clippy::result_large_err)]
    pub fn check_may_act(&self) -> Result<(), Response> {
        if self.may_act() {
            Ok(())
        } else {
            Err(refused(
                "Your role (support) reads accounts; only an operator changes them.",
            ))
        }
    }
}

/// The 403 page.
fn refused(message: &str) -> Response {
    page(
        &ErrorPage {
            heading: "Not allowed",
            message,
        },
        StatusCode::FORBIDDEN,
    )
}
