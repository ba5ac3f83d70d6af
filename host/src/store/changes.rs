//! The change feed: what replicas sharing a database keep in memory
//! (prices, the changelog's launches and retirements, the plugin versions
//! they serve) is invalidated
//! through the database when another replica changes it. On PostgreSQL a
//! change commits a `NOTIFY` with its topic in its own transaction, and
//! each replica `LISTEN`s on a connection of its own; after that connection
//! is lost and made again, subscribers are told to reload everything
//! (notices sent meanwhile are lost). sled has one process, which updates
//! its memory itself: nothing arrives.

use std::time::Duration;

use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

use super::pg::PgStore;

/// The PostgreSQL channel changes are announced on.
pub const CHANNEL: &str = "imini_changes";

/// Prices and the changelog.
pub const PRICES: &str = "prices";

/// Plugin versions: which serves, with which configuration.
pub const PLUGINS: &str = "plugins";

/// Upstream credentials set at run time.
pub const CREDENTIALS: &str = "credentials";

/// What a subscriber hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Something under this topic changed.
    Topic(String),
    /// Anything may have changed (the feed was lost for a while).
    Everything,
}

impl Change {
    /// Whether a cache of `topic` must reload.
    pub fn concerns(&self, topic: &str) -> bool {
        match self {
            Change::Topic(t) => t == topic,
            Change::Everything => true,
        }
    }
}

/// The feed of changes made by other processes.
pub struct ChangeFeed {
    sender: broadcast::Sender<Change>,
}

impl ChangeFeed {
    /// A feed on which nothing arrives (sled: one process).
    pub fn silent() -> Self {
        Self {
            sender: broadcast::channel(1).0,
        }
    }

    /// Listens to the database `pg` on a connection of its own, made again
    /// whenever it is lost.
    pub fn listen(pg: &PgStore) -> Self {
        let (sender, _) = broadcast::channel(256);
        tokio::spawn(listen(pg.config().clone(), sender.clone()));
        Self { sender }
    }

    /// Changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }
}

async fn listen(config: tokio_postgres::Config, sender: broadcast::Sender<Change>) {
    let mut first = true;
    loop {
        match config.connect(tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let listening = async { client.batch_execute(&format!("LISTEN {CHANNEL}")).await };
                // The connection must be polled for the LISTEN to complete.
                let mut listening = std::pin::pin!(listening);
                let ready = loop {
                    tokio::select! {
                        r = &mut listening => break r.is_ok(),
                        m = std::future::poll_fn(|cx| connection.poll_message(cx)) => {
                            if !matches!(m, Some(Ok(_))) {
                                break false;
                            }
                        }
                    }
                };
                if ready {
                    if !first {
                        tracing::info!("listening to the database's changes again");
                    }
                    // Whatever changed before this point is unknown.
                    let _ = sender.send(Change::Everything);
                    first = false;
                    loop {
                        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                            Some(Ok(AsyncMessage::Notification(n))) => {
                                let _ = sender.send(Change::Topic(n.payload().to_string()));
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "lost the database's change feed");
                                break;
                            }
                            None => {
                                tracing::warn!("lost the database's change feed");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not listen to the database's changes");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Announces a change of `topic` when `tx` commits.
pub(crate) async fn announce(
    tx: &tokio_postgres::Transaction<'_>,
    topic: &str,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &topic])
        .await
        .map(|_| ())
}
