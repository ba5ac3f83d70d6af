//! `imini-bench`: what the gateway adds on top of an upstream, on loopback.
//! See `support/bench.rs` for the method; docs/benchmarks.md for the
//! figures.
//!
//! ```text
//! cargo run --release -p imini-tests --bin imini-bench -- [--concurrency 1,16,64] [--duration 10s] [--delay-ms 0] [--rate N]
//! ```

use std::time::Duration;

use clap::Parser;
use imini_tests::bench::{self, Limit, MockBehaviour, Options};

/// Benchmarks the gateway against a mock OpenAI Images upstream, directly,
/// through a plain reverse proxy, and through the gateway.
#[derive(Debug, Parser)]
struct Args {
    /// Concurrent connections, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<u32>,
    /// How long each run lasts (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Instead of a duration, send this many requests per run.
    #[arg(long)]
    requests: Option<u64>,
    /// A fixed delay of the mock upstream, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Requests sent before each measured run.
    #[arg(long, default_value_t = 500)]
    warmup: u64,
    /// Send this many requests per second in each run (shared by the
    /// connections) instead of as many as the target answers.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    rate: Option<u32>,
    /// Measure each target this many times and report the middle run (by
    /// throughput; with --rate, by median latency).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |i| text.split_at(i));
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{text:?}: use ms, s or m")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Builds the gateway binary beside this one (same profile), unless
/// `IMINI_BIN` names one.
fn gateway_binary() -> anyhow::Result<()> {
    if std::env::var_os("IMINI_BIN").is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().expect("the binary is in a directory");
    let release = dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["build", "-p", "imini", "--bin", "imini"]);
    if release {
        build.arg("--release");
    }
    eprintln!("building the gateway: {build:?}");
    anyhow::ensure!(build.status()?.success(), "building imini failed");
    imini_tests::set_binary(dir.join("imini"));
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    gateway_binary()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let setup = bench::start(
        &rt,
        MockBehaviour {
            delay: Duration::from_millis(args.delay_ms),
            fail_every: 0,
        },
    )?;
    let opts = Options {
        concurrencies: args.concurrency,
        limit: args
            .requests
            .map_or(Limit::Time(args.duration), Limit::Requests),
        warmup: args.warmup,
        rate: args.rate,
        repeat: args.repeat,
    };
    let pace = opts
        .rate
        .map_or("closed loop".to_string(), |r| format!("{r} req/s"));
    eprintln!(
        "mock upstream {}, proxy {}, gateway {}; {:?} per run, {pace}",
        setup.upstream.url(),
        setup.proxy.url(),
        setup.gateway.base,
        opts.limit
    );
    let rows = bench::run(&rt, &setup, &opts)?;
    println!("{}", bench::table(&rows));
    Ok(())
}
