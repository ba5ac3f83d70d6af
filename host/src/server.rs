//! Wiring: opens the data directory, loads the plugins, builds the catalogue
//! and the task engine, and serves HTTP until a shutdown signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;

use crate::accounts::Accounts;
use crate::api::{self, Gateway};
use crate::audit::Audit;
use crate::auth::Auth;
use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::idempotency::Idempotency;
use crate::ledger::Ledger;
use crate::media::Media;
use crate::moderation::{Bindings, Moderation, ModerationParts};
use crate::plugins::{EngineLimits, Outbound, PluginRuntime};
use crate::pricing::Pricing;
use crate::ratelimit::{Limiter, REDIS_URL_VARIABLE};
use crate::signing::UrlSigner;
use crate::store::backend::{Resolved, Stores, URL_VARIABLE};
use crate::tasks::{TaskParts, Tasks};
use crate::webhooks::{WebhookPolicy, Webhooks};

/// Where and how to serve.
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Where compiled plugins are kept.
    pub plugin_cache: PathBuf,
    /// The admin key to use, if given (else generated at first start).
    pub admin_key: Option<String>,
    /// The configuration.
    pub config: Config,
}

/// Where email to people goes: the `[email]` SMTP server, or the log.
fn mailer(config: &Config) -> anyhow::Result<Arc<dyn crate::people::mail::Mailer>> {
    Ok(match &config.email {
        Some(email) => {
            let smtp = crate::people::mail::SmtpMailer::new(email)
                .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
            tracing::info!(server = %crate::people::mail::Mailer::description(&smtp), "email to people goes over SMTP");
            Arc::new(smtp)
        }
        None => Arc::new(crate::people::mail::LogMailer),
    })
}

/// Starts the gateway and serves until SIGINT or SIGTERM.
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let config = opts.config;
    let threads = config.server.serving_threads();
    std::fs::create_dir_all(&opts.data_dir)
        .with_context(|| format!("creating the data directory {}", opts.data_dir.display()))?;
    let backend = config
        .store
        .resolve(std::env::var(URL_VARIABLE).ok().as_deref())
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let limiter = config
        .limits
        .resolve_limiter(std::env::var(REDIS_URL_VARIABLE).ok().as_deref())
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let replica = config
        .replicas
        .replica(&opts.data_dir)
        .context("reading this replica's id")?;
    let stores = Stores::open(&backend, &opts.data_dir, &replica)
        .await
        .context(match backend {
            Resolved::Embedded { .. } => {
                "opening the database (is another imini using this data directory?)"
            }
            Resolved::Postgres { .. } => "opening the PostgreSQL database",
        })?;
    tracing::info!(store = %stores.description, "state store open");
    let secrets = stores.secrets.clone();

    let accounts = Accounts::new(stores.accounts.clone());
    let task_store = stores.tasks.clone();
    let ledger = Ledger::new(task_store.clone());
    let disputes = crate::bills::Disputes::new(task_store.clone());
    let (auth, new_key) =
        Auth::init(&*secrets, accounts.clone(), opts.admin_key.as_deref()).await?;
    if let Some(key) = new_key {
        // Printed once, on the terminal, not in the logs.
        println!("\n  Admin key (shown only this once; keep it safe):\n\n    {key}\n");
    }
    let signer = UrlSigner::init(&*secrets).await?;
    let idempotency = Idempotency::new(stores.idempotency.clone());
    let purged = idempotency.purge().await?;
    if purged > 0 {
        tracing::info!(purged, "forgot expired idempotency keys");
    }

    let credentials =
        crate::credentials::Credentials::open(config.secrets()?, secrets.clone()).await?;
    let runtime = plugin_runtime(&config, &opts.plugin_cache, false, credentials.clone())?;

    let plugin_records = stores.plugins.clone();
    let plugin_dir = crate::rollout::plugins_dir(&opts.data_dir);
    // Steps other replicas take from now on are heard of.
    let plugin_changes = stores.changes.subscribe();
    let (plugins, plugin_revisions, waiting) = crate::rollout::load_at_start(
        &runtime,
        &config,
        &*plugin_records,
        stores.components.as_deref(),
        &plugin_dir,
    )
    .await?;
    let plugins = Arc::new(plugins);
    let price_changes = stores.changes.subscribe();
    let pricing = Pricing::open(stores.prices.clone()).await?;
    // Prices another replica sets are in force here as soon as it commits.
    tokio::spawn(pricing.clone().follow(price_changes));
    let catalogue = Catalogue::build(&plugins.providers(), &config.routes)?;
    // A model waiting for its plugin's credential is not retired.
    let models: Vec<String> = catalogue
        .routes()
        .map(|r| r.info.id.clone())
        .chain(catalogue.unavailable().keys().cloned())
        .collect();
    pricing.announce_launches(&models).await?;
    let (_, retired) = pricing.model_states();
    let retired = retired
        .into_iter()
        .map(|(id, at)| {
            let retired = crate::catalogue::Retired {
                at,
                plugin: None,
                last: None,
            };
            (id, retired)
        })
        .collect();
    let catalogue = Arc::new(RwLock::new(Arc::new(catalogue.with_retired(retired))));
    let blobs = config
        .media
        .open(&opts.data_dir)
        .await
        .map_err(|e| anyhow::anyhow!("media store: {e}"))?;
    let media = Media::new(blobs, stores.files.clone());
    tracing::info!(media = %media.describe(), "media store open");
    let health = Arc::new(crate::catalogue::RouteHealth::default());
    let webhooks = Webhooks::new(
        stores.webhooks.clone(),
        WebhookPolicy {
            allow_private: config.network.allow_private,
            // Deliveries another replica queued or left are found within
            // a lease.
            poll: stores.shared().then_some(replica.lease),
        },
    )?;
    let clock = test_clock()?;
    let audit = Audit::new(stores.audit.clone());
    let bindings = Bindings::build(&config.moderation, &plugins)
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    for (model, policies) in std::iter::once(("*", &bindings.global))
        .chain(bindings.models.iter().map(|(m, p)| (m.as_str(), p)))
    {
        let names: Vec<String> = policies.iter().map(|p| p.core().label()).collect();
        tracing::info!(model, policies = ?names, "content policies bound");
    }
    let moderation = Arc::new(
        Moderation::start(ModerationParts {
            bindings,
            config: config.moderation.clone(),
            store: stores.moderation.clone(),
            accounts: accounts.clone(),
            clock,
        })
        .await?,
    );
    let tasks = Tasks::new(TaskParts {
        store: task_store,
        media: media.clone(),
        catalogue: catalogue.clone(),
        timeouts: (&config.tasks).into(),
        webhooks: webhooks.clone(),
        accounts: accounts.clone(),
        health: health.clone(),
        moderation: moderation.clone(),
    });
    let resumed = tasks.recover().await?;
    let overdue = crate::overdue::Overdue::new(
        stores.tasks.clone(),
        moderation.clone(),
        config.billing.clone(),
    );
    tokio::spawn(overdue.clone().run());
    if stores.shared() {
        tracing::info!(replica = %replica.id, lease_secs = replica.lease.as_secs(), "one of the replicas sharing the database");
        tokio::spawn(tasks.clone().keep_leases(replica.clone()));
    }
    if let Some(period) = config.retention.period() {
        tokio::spawn(purge_loop(
            tasks.clone(),
            period,
            stores.replicas.clone(),
            replica.id.clone(),
        ));
    }
    let secrets_of = accounts.clone();
    let secret_of: crate::webhooks::SecretOf = Arc::new(move |account_id| {
        let accounts = secrets_of.clone();
        Box::pin(async move {
            let account = accounts.get(&account_id).await.ok()?;
            account.webhook_secret
        })
    });
    tokio::spawn(webhooks.clone().run(secret_of));

    let rollout = crate::rollout::Rollout::new(crate::rollout::RolloutParts {
        runtime: runtime.clone(),
        registry: plugins.clone(),
        catalogue: catalogue.clone(),
        moderation: moderation.clone(),
        pricing: pricing.clone(),
        audit: audit.clone(),
        config: config.clone(),
        records: plugin_records,
        components: stores.components.clone(),
        dir: plugin_dir,
        revisions: plugin_revisions,
        jobs: stores.replicas.clone(),
        replica: replica.clone(),
        waiting,
    });
    tokio::spawn(rollout.clone().follow(plugin_changes));
    rollout.resume_schedules().await?;
    if let Some(dir) = config.rollout.watch_dir.clone() {
        tokio::spawn(rollout.clone().watch(dir, config.rollout.watch_interval()));
    }

    let limiter = Arc::new(
        Limiter::open(&limiter)
            .await
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?,
    );
    tracing::info!(limiter = %limiter.description(), "request rates are counted");

    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("listening on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let replicas = crate::replicas::Replicas::new(
        stores.replicas.clone(),
        plugins.clone(),
        replica.clone(),
        // Its own address (public_url is the load balancer's).
        format!("http://{addr}"),
    );
    // Listed from the start; then a few times a lease.
    replicas.beat().await?;
    tokio::spawn(replicas.clone().run());
    let metrics_token =
        crate::metrics::MetricsToken::from_env_or(config.telemetry.metrics_token.as_deref());
    // Links in emails lead to the console at the public address (the load
    // balancer's), or this replica's own.
    let public_url = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let people = crate::people::People::new(
        stores.people.clone(),
        accounts.clone(),
        limiter.clone(),
        mailer(&config)?,
        config.accounts.clone(),
        &public_url,
    );
    tokio::spawn(people_purge_loop(
        people.clone(),
        stores.replicas.clone(),
        replica.id.clone(),
    ));
    let gateway = Arc::new(Gateway {
        overview_charts: Default::default(),
        metrics_token,
        config,
        auth,
        accounts,
        ledger,
        plugins,
        catalogue,
        tasks: tasks.clone(),
        media,
        signer,
        idempotency,
        pricing,
        disputes,
        webhooks,
        health,
        limiter,
        moderation,
        audit,
        rollout,
        replicas,
        overdue,
        people,
    });
    let app = api::router(gateway);
    let shutdown = shutdown_signal()?;
    tracing::info!(%addr, resumed_tasks = resumed, startup_ms = started.elapsed().as_millis() as u64, "imini is serving");
    // Machine-readable for scripts and tests that start on port 0.
    println!("imini listening on http://{addr}");
    match threads {
        0 => serve_here(listener, app, shutdown).await?,
        n => serve_on_threads(listener, app, shutdown, n).await?,
    }
    if stores.shared() {
        // Tasks still running here are taken over by another replica now
        // rather than when their leases lapse.
        match tasks.release_leases().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tasks = n, "left running tasks to the other replicas"),
            Err(e) => tracing::warn!(error = %e, "could not give up this replica's leases"),
        }
    }
    match stores.op_counts() {
        Some(ops) => tracing::info!(store_ops = %ops, "imini stopped"),
        None => tracing::info!("imini stopped"),
    }
    Ok(())
}

/// Serves `app` on `listener` until `shutdown` resolves and the requests
/// in flight are answered.
async fn serve_here<L>(
    listener: L,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Io = tokio::net::TcpStream, Addr = SocketAddr>,
{
    axum::serve(
        with_nodelay(listener),
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Answers go out as soon as they are written: without TCP_NODELAY a
/// response written in two parts waits for the client's delayed ACK (up to
/// 40 ms) under Nagle's algorithm.
fn with_nodelay<L>(listener: L) -> axum::serve::TapIo<L, fn(&mut tokio::net::TcpStream)>
where
    L: axum::serve::Listener<Io = tokio::net::TcpStream>,
{
    fn nodelay(tcp: &mut tokio::net::TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    }
    axum::serve::ListenerExt::tap_io(listener, nodelay as fn(&mut tokio::net::TcpStream))
}

/// The connections handed to one serving thread.
struct Handed {
    connections: tokio::sync::mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for Handed {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some((stream, peer)) = self.connections.recv().await else {
                // The acceptor has stopped: no connection comes any more.
                return std::future::pending().await;
            };
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => return (stream, peer),
                Err(e) => tracing::warn!(error = %e, %peer, "could not take over a connection"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Serves `app` from `threads` threads (`[server] threads`), each with a
/// single-threaded runtime of its own, to which the connections `listener`
/// accepts are handed in turn. A connection, and every task its requests
/// start, stays on its thread: no request hops between threads, where the
/// shared runtime's idle workers are woken to take work at every spawn and
/// wake-up. Returns once `shutdown` has resolved and every thread has
/// answered its requests in flight.
async fn serve_on_threads(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    threads: u32,
) -> anyhow::Result<()> {
    tracing::debug!(threads, "serving on threads of their own");
    let local = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (mut handing, mut finished) = (Vec::new(), Vec::new());
    for i in 0..threads {
        let (hand, connections) = tokio::sync::mpsc::unbounded_channel();
        let listener = Handed { connections, local };
        let (mut stopped, shared) = (stopped.clone(), tokio::runtime::Handle::current());
        // A request whose plugin computes through a tick moves to the
        // shared runtime (crate::serving).
        let app = app.clone().layer(tower::util::MapFutureLayer::new(
            crate::serving::Movable::new,
        ));
        let (done, finished_one) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("imini-http-{i}"))
            .spawn(move || {
                crate::serving::mark_serving_thread(i as usize, shared);
                let served = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        runtime.block_on(async move {
                            let stop = async move {
                                let _ = stopped.wait_for(|stop| *stop).await;
                            };
                            serve_here(listener, app, stop).await
                        })
                    });
                let _ = done.send(served);
            })
            .context("starting a serving thread")?;
        handing.push(hand);
        finished.push(finished_one);
    }
    drop(stopped);
    // In turn, so that the threads serve as many connections each (a
    // listening socket shared by the threads gave one of two twice the
    // other's connections).
    let accepting = async {
        for hand in handing.iter().cycle() {
            let (stream, peer) = loop {
                match listener.accept().await {
                    Ok(accepted) => break accepted,
                    Err(e) => {
                        // Out of file descriptors, or a connection reset
                        // before it was taken: wait a little, go on.
                        tracing::warn!(error = %e, "could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            };
            match stream.into_std() {
                Ok(stream) => {
                    let _ = hand.send((stream, peer));
                }
                Err(e) => tracing::warn!(error = %e, %peer, "could not hand over a connection"),
            }
        }
    };
    tokio::select! {
        () = accepting => {}
        () = shutdown => {}
    }
    drop((listener, handing));
    let _ = stop.send(true);
    for finished_one in finished {
        match finished_one.await {
            Ok(served) => served.context("serving")?,
            Err(_) => anyhow::bail!("a serving thread panicked"),
        }
    }
    Ok(())
}

/// The moderation clock: the system clock, or shifted by
/// `IMINI_TEST_CLOCK_OFFSET_SECS` (for testing strike windows and appeal
/// deadlines without waiting days).
fn test_clock() -> anyhow::Result<crate::time::Clock> {
    match std::env::var("IMINI_TEST_CLOCK_OFFSET_SECS") {
        Ok(v) => {
            let secs: i64 = v.trim().parse().with_context(|| {
                format!("IMINI_TEST_CLOCK_OFFSET_SECS={v:?} is not a number of seconds")
            })?;
            tracing::warn!(
                offset_secs = secs,
                "the moderation clock is shifted (IMINI_TEST_CLOCK_OFFSET_SECS); for tests only"
            );
            Ok(crate::time::Clock::shifted(secs))
        }
        Err(_) => Ok(crate::time::Clock::default()),
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives
/// right after start-up is not lost.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}

/// Purges what retention says to, at start and then regularly (every hour,
/// or sooner for short periods); of replicas sharing a database, the one
/// that leads the job does (its term outlasts two rounds, so another
/// replica takes over if it dies).
async fn purge_loop(
    tasks: Arc<Tasks>,
    period: Duration,
    jobs: Arc<dyn crate::store::replicas::ReplicaStore>,
    replica: String,
) {
    let every = period
        .min(Duration::from_secs(3600))
        .max(Duration::from_secs(1));
    on_one_replica("retention", every, jobs, replica, || async {
        let cutoff = crate::time::now_unix() - period.as_secs() as i64;
        match tasks.purge_before(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                tasks = n,
                "retention: deleted prompts, references and outputs of old tasks"
            ),
            Err(e) => tracing::error!(error = %e, "retention purge failed"),
        }
    })
    .await;
}

/// Removes ended sessions and expired links of people's logins, hourly.
async fn people_purge_loop(
    people: crate::people::People,
    jobs: Arc<dyn crate::store::replicas::ReplicaStore>,
    replica: String,
) {
    let every = Duration::from_secs(3600);
    on_one_replica("people-purge", every, jobs, replica, || async {
        match people.purge_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                removed = n,
                "people: removed ended sessions and expired links"
            ),
            Err(e) => tracing::error!(error = %e, "people: purging ended sessions failed"),
        }
    })
    .await;
}

/// Runs `job` every `every`, on one of the replicas sharing the database at
/// a time: the one holding the lease `name`.
async fn on_one_replica<F, Fut>(
    name: &'static str,
    every: Duration,
    jobs: Arc<dyn crate::store::replicas::ReplicaStore>,
    replica: String,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        match jobs
            .lead(name, &replica, every * 2 + Duration::from_secs(1))
            .await
        {
            Ok(true) => job().await,
            Ok(false) => tracing::debug!(job = name, "another replica runs it"),
            Err(e) => {
                tracing::error!(job = name, error = %e, "could not tell which replica runs it");
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// The plugin runtime as `config` sets it up (sandbox limits, outbound
/// bounds, credentials), compiling into `cache_dir`: the gateway's, and
/// `imini plugin check`'s and `run`'s (which `trace` the outbound HTTP).
pub fn plugin_runtime(
    config: &Config,
    cache_dir: &std::path::Path,
    trace: bool,
    credentials: Arc<crate::credentials::Credentials>,
) -> anyhow::Result<Arc<PluginRuntime>> {
    let s = &config.sandbox;
    let mut outbound = Outbound::new(
        Duration::from_millis(s.outbound_timeout_ms),
        s.max_response_mib as usize * 1024 * 1024,
        config.server.serving_threads(),
    )?;
    if trace {
        outbound = outbound.traced();
    }
    let limits = EngineLimits {
        memory_bytes: s.memory_mib as usize * 1024 * 1024,
        provider_calls: s.max_concurrent_calls,
        policy_calls: s.max_concurrent_policy_calls,
        max_output_bytes: s.max_output_mib as usize * 1024 * 1024,
    };
    Ok(PluginRuntime::new(
        &limits,
        cache_dir,
        outbound,
        credentials,
    )?)
}
