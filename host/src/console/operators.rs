//! The operators' pages under `/console/admin/…`: for staff only. An
//! operator sees and acts; support reads (every action a form could post is
//! refused on the server, not only hidden); a user is refused the pages.

pub(super) mod accounts;
pub(super) mod appeals;
pub(super) mod audit;
pub(super) mod disputes;
pub(super) mod flags;
pub(super) mod logins;
pub(super) mod plugins;
pub(super) mod prices;

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
        self.only_operators("Your role (support) reads accounts; only an operator changes them.")
    }

    /// Refuses an action to anyone but an operator, saying `why` (403).
    #[allow(clippy::result_large_err)]
    pub fn only_operators(&self, why: &str) -> Result<(), Response> {
        if self.may_act() {
            Ok(())
        } else {
            Err(refused(why))
        }
    }
}

/// A time typed into a form, in UTC: `2026-12-31 09:00` (or with a `T`,
/// or with seconds), a date alone (its midnight), or an RFC 3339 time.
/// Blank is `None` (now); anything else is refused in words. Answers the
/// RFC 3339 text the admin API takes.
pub(crate) fn parse_when(text: &str) -> Result<Option<String>, String> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(Some(crate::time::to_rfc3339(
            t.to_offset(time::UtcOffset::UTC),
        )));
    }
    let spaced = text.replacen('T', " ", 1);
    let with_seconds = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let minutes = format_description!("[year]-[month]-[day] [hour]:[minute]");
    let date = format_description!("[year]-[month]-[day]");
    let at = time::PrimitiveDateTime::parse(&spaced, with_seconds)
        .or_else(|_| time::PrimitiveDateTime::parse(&spaced, minutes))
        .or_else(|_| {
            time::Date::parse(&spaced, date).map(|d| d.with_time(time::Time::MIDNIGHT))
        })
        .map_err(|_| {
            format!(
                "Enter a date and time in UTC, like 2026-12-31 09:00 (or leave it empty for now), not {text:?}."
            )
        })?;
    Ok(Some(crate::time::to_rfc3339(at.assume_utc())))
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

#[cfg(test)]
mod tests {
    use super::parse_when;

    #[test]
    fn a_typed_time_is_read_as_utc_and_anything_else_is_refused_in_words() {
        assert_eq!(parse_when("  "), Ok(None));
        for (typed, read) in [
            ("2026-12-31 09:00", "2026-12-31T09:00:00Z"),
            ("2026-12-31T09:00", "2026-12-31T09:00:00Z"),
            ("2026-12-31 09:00:30", "2026-12-31T09:00:30Z"),
            ("2026-12-31", "2026-12-31T00:00:00Z"),
            ("2026-12-31T10:00:00+01:00", "2026-12-31T09:00:00Z"),
        ] {
            assert_eq!(parse_when(typed), Ok(Some(read.to_string())), "{typed}");
        }
        for bad in ["tomorrow", "31/12/2026", "2026-13-01", "2026-12-31 25:00"] {
            let refused = parse_when(bad).unwrap_err();
            assert!(
                refused.contains("like 2026-12-31 09:00"),
                "{bad}: {refused}"
            );
        }
    }
}
