//! The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`
//! and kept as `docs/openapi.json`. It is not written by hand: the router
//! is built from the annotated handlers (`utoipa_axum::routes!`), so every
//! route is in it, with the request and response types the handlers use.

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

use super::error::ErrorCode;

/// The document's fixed parts; the paths come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "imini",
        description = "An AIGC model aggregation gateway: one HTTP API in front of many image and video models, with prepaid credits, content policies and tasks. Two faces share the same accounts and tasks: a native task API (`/v1/images/generate`, `/v1/videos/generate`, `/v1/tasks`) and an OpenAI-compatible one (`/v1/images/generations`, `/v1/images/edits`, `/v1/videos`). The admin API (`/admin/v1/...`) needs the admin key. Every error has the shape of `ErrorBody`; docs/api.md describes the codes.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "images", description = "Image generation and edits"),
        (name = "videos", description = "Video generation"),
        (name = "tasks", description = "The tasks requests run as"),
        (name = "models", description = "The catalogue, prices and the changelog"),
        (name = "files", description = "Uploaded references and generated outputs"),
        (name = "account", description = "The caller's account, keys, usage, bills and webhook"),
        (name = "moderation", description = "Notices, appeals, flags, the audit log and the policies"),
        (name = "admin", description = "Accounts, keys, prices and disputes, for the operator"),
        (name = "plugins", description = "Plugin versions, credentials and replicas, for the operator"),
        (name = "service", description = "Health, metrics and this document"),
    ),
)]
pub(super) struct Fixed;

/// The error body every failed request gets.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The error of an [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The machine-readable code (docs/api.md lists them with their status).
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// OpenAI's error type of the code, e.g. `invalid_request_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The request parameter at fault, if one is.
    pub param: Option<String>,
    /// The HTTP status, repeated.
    pub status: u16,
    /// The request's id (also the `x-request-id` header).
    pub request_id: String,
    /// The task concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// For `CONTENT_POLICY_VIOLATION`: the category of the terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Box<str>>,
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .description(Some(
                "An error code; docs/api.md gives each one's status and meaning.",
            ))
            .into()
    }
}

impl ToSchema for ErrorCode {}

/// The security schemes: both keys are bearer tokens in `Authorization`.
pub const ACCOUNT_KEY: &str = "account_key";
/// The admin key's scheme.
pub const ADMIN_KEY: &str = "admin_key";
/// The metrics token's scheme.
pub const METRICS_TOKEN: &str = "metrics_token";

/// Adds what every operation shares: the security schemes, and the error
/// responses (any 4xx or 5xx is an [`ErrorBody`]).
fn conventions(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    for (name, description) in [
        (
            ACCOUNT_KEY,
            "An account's API key (`sk-imini-…`), as `Authorization: Bearer <key>`.",
        ),
        (
            ADMIN_KEY,
            "The operator's admin key, as `Authorization: Bearer <key>`. It may also call the account routes, unbilled.",
        ),
        (
            METRICS_TOKEN,
            "The token of `[telemetry] metrics_token`, which may read `/metrics` only.",
        ),
    ] {
        components.add_security_scheme(
            name,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            ),
        );
    }
    let error = |what: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                        .build(),
                )
                .build(),
        )
    };
    let idempotency_key = || {
        utoipa::openapi::path::ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(utoipa::openapi::path::ParameterIn::Header)
            .required(utoipa::openapi::Required::False)
            .description(Some(
                "Makes a retry safe: the same key and body within 24 hours replay the first answer and never run or charge twice; the same key with another body is 409 IDEMPOTENCY_CONFLICT. At most 255 characters.",
            ))
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255)),
            ))
            .build()
    };
    for item in api.paths.paths.values_mut() {
        if let Some(post) = &mut item.post {
            post.parameters
                .get_or_insert_with(Vec::new)
                .push(idempotency_key());
        }
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let responses = &mut op.responses.responses;
            responses
                .entry("4XX".into())
                .or_insert_with(|| error("The request was refused; nothing changed"));
            responses
                .entry("5XX".into())
                .or_insert_with(|| error("The gateway or the provider failed"));
        }
    }
}

/// The whole document.
pub fn openapi() -> OpenApi {
    let (_, mut api) = super::routes().split_for_parts();
    conventions(&mut api);
    api
}

/// The document as pretty JSON, as committed in docs/openapi.json.
pub fn openapi_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut doc = serde_json::to_value(openapi()).expect("the document serialises");
        camel_case_links(&mut doc);
        let mut text = serde_json::to_string_pretty(&doc).expect("the document serialises");
        text.push('\n');
        text
    })
}

/// utoipa 5.5 writes a Link Object's fields in snake case
/// (`operation_id`); OpenAPI spells them `operationId`, `operationRef` and
/// `requestBody`, which is what tools read.
fn camel_case_links(doc: &mut serde_json::Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut());
    for op in operations {
        let Some(responses) = op["responses"].as_object_mut() else {
            continue;
        };
        for response in responses.values_mut() {
            let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else {
                continue;
            };
            for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
                for (from, to) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(v) = link.remove(from) {
                        link.insert(to.to_string(), v);
                    }
                }
            }
        }
    }
}

/// The document itself.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object)),
)]
pub async fn document() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi_json(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    /// docs/openapi.json is what the code generates. To refresh it after a
    /// change to the API: `cargo run -p imini -- openapi > docs/openapi.json`.
    #[test]
    fn the_committed_document_is_the_generated_one() {
        let committed = include_str!("../../../docs/openapi.json");
        let generated = super::openapi_json();
        assert!(
            committed == generated,
            "docs/openapi.json differs from the API the code serves; refresh it with `cargo run -p imini -- openapi > docs/openapi.json`"
        );
    }

    #[test]
    fn every_error_code_is_in_the_document() {
        let doc: serde_json::Value = serde_json::from_str(super::openapi_json()).unwrap();
        let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
        let codes: Vec<&str> = codes
            .as_array()
            .expect("an enum")
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let all: Vec<&str> = super::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(codes, all);
        assert_eq!(doc["openapi"], "3.1.0");
    }

    #[test]
    fn operation_ids_are_unique_and_links_name_real_ones() {
        let doc: serde_json::Value = serde_json::from_str(super::openapi_json()).unwrap();
        let mut ids = std::collections::BTreeSet::new();
        let mut linked = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().expect("an operationId");
                assert!(ids.insert(id.to_string()), "operationId {id} twice");
                for response in op["responses"].as_object().unwrap().values() {
                    if let Some(links) = response["links"].as_object() {
                        for link in links.values() {
                            linked.push(link["operationId"].as_str().unwrap().to_string());
                        }
                    }
                }
            }
        }
        assert!(linked.len() >= 10, "{linked:?}");
        for id in linked {
            assert!(
                ids.contains(&id),
                "a link names {id}, which no operation has"
            );
        }
    }
}
