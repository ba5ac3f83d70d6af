//! End-to-end tests: each starts the real `imini` binary on 127.0.0.1 port 0
//! with a temporary data directory. One binary, a module per area.

mod billing;
mod cli;
mod bills;
mod errors;
mod idempotency;
mod images;
mod limits;
mod openai_sdk;
mod prices;
mod provider_openai;
mod references;
mod restart;
mod retention;
mod routing;
mod sandbox;
mod videos;
mod webhooks;
