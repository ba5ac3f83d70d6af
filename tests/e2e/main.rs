//! End-to-end tests: each starts the real `imini` binary on 127.0.0.1 port 0
//! with a temporary data directory. One binary, a module per area.

mod bench_harness;
mod billing;
mod bills;
mod cli;
mod crash;
mod credentials;
mod errors;
mod idempotency;
mod images;
mod limits;
mod media_s3;
mod moderation;
mod openai_sdk;
mod plugin_new;
mod policy_terms;
mod pool;
mod postgres;
mod prices;
mod provider_fal;
mod provider_openai;
mod provider_replicate;
mod provider_replicate_errors;
mod provider_runway;
mod redis;
mod references;
mod restart;
mod retention;
mod rollout;
mod routing;
mod sandbox;
mod store_migrate;
mod telemetry;
mod videos;
mod webhooks;
mod wit_versions;
