//! # imini: the gateway
//!
//! One HTTP API in front of many image and video generation models, whose
//! provider adapters and moderation policies are sandboxed WebAssembly
//! plugins. The modules are the architecture:
//!
//! - [`api`]: the HTTP edge (routes, JSON shapes, the error type);
//! - [`auth`]: who is calling (the admin key, account keys);
//! - [`accounts`]: accounts and their API keys; [`people`]: the people who
//!   log in to the console, their sessions and passwords;
//! - [`ledger`]: credits: holds, captures, releases, exact under crashes;
//! - [`catalogue`]: models, their plugins and what they accept;
//! - [`tasks`]: every generation as a persisted task;
//! - [`media`]: content-addressed output files;
//! - [`moderation`]: the policy pipeline, strikes, notices and appeals;
//!   [`audit`]: the append-only audit log;
//! - [`plugins`]: the wasmtime runtime, sandbox and host functions;
//!   [`rollout`]: plugin versions swapped on a running gateway;
//! - [`store`]: the store traits, on sled or PostgreSQL; [`config`], [`cli`], [`server`]: wiring.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod bills;
pub mod bundled;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod console;
pub mod credentials;
pub mod durable;
pub mod error_code;
pub mod idempotency;
pub mod ids;
pub mod ledger;
pub mod media;
pub mod metrics;
pub mod moderation;
pub mod net;
pub mod overdue;
pub mod people;
pub mod plugins;
pub mod pricing;
pub mod ratelimit;
pub mod replicas;
pub mod rollout;
pub mod server;
pub mod serving;
pub mod signing;
pub mod store;
pub mod tasks;
pub mod telemetry;
pub mod time;
pub mod webhooks;
