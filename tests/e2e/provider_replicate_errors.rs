//! The bundled `replicate` adapter's failures, through the provider
//! conformance suite ([`imini_tests::conformance`]) and the mock described
//! in `provider_replicate`: every error class of the create call (400, 401,
//! 403, 404, 422, 429 with `Retry-After`, 500, 502, 503, an unreadable
//! body), predictions that end `failed`, refused as NSFW or `canceled`
//! upstream, and a create call slower than `timeout_ms`. Each fails the
//! task with the right code and releases the hold in full.

use imini_tests::conformance;

use super::provider_replicate::Replicate;

#[test]
fn conformance_error_classes() {
    conformance::error_classes(&Replicate);
}

#[test]
fn conformance_timeout() {
    conformance::timeout(&Replicate);
}
