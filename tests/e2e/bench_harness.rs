//! The benchmark harness itself (`imini-bench`): a short run starts the mock
//! upstream, the proxy and the gateway, counts errors exactly, and stops
//! everything it started.

use std::net::TcpStream;

use imini_tests::bench::{self, Limit, MockBehaviour, Options};

#[test]
fn a_short_run_counts_errors_and_stops_everything_it_started() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Every 10th request to the upstream fails with 500.
    let setup = bench::start(
        &rt,
        MockBehaviour {
            fail_every: 10,
            ..MockBehaviour::default()
        },
    )
    .unwrap();
    let [direct, proxy, gateway] = bench::targets(&setup);

    let f = rt
        .block_on(bench::load(&direct, 1, Limit::Requests(200), None))
        .unwrap();
    assert_eq!((f.requests, f.errors), (200, 20), "{f:?}");
    assert!(f.rps > 0.0 && f.p50_ms > 0.0 && f.p99_ms >= f.p50_ms && f.max_ms >= f.p99_ms);
    // Upstream requests 201..300: ten fail, each a 502 from the gateway.
    let f = rt
        .block_on(bench::load(&gateway, 1, Limit::Requests(100), None))
        .unwrap();
    assert_eq!((f.requests, f.errors), (100, 10), "{f:?}");
    let f = rt
        .block_on(bench::load(&proxy, 4, Limit::Requests(100), None))
        .unwrap();
    assert_eq!((f.requests, f.errors), (100, 10), "{f:?}");
    // At a set rate the connections share it: 60 requests at 200/s cannot
    // take less than about 0.3 s, however fast the target answers.
    let f = rt
        .block_on(bench::load(&direct, 4, Limit::Requests(60), Some(200)))
        .unwrap();
    assert_eq!(f.requests, 60, "{f:?}");
    assert!(f.rps <= 220.0, "the rate was not held: {f:?}");

    // The whole table, at two concurrencies, each run three times: the
    // reported run still covers exactly its 100 requests.
    let rows = bench::run(
        &rt,
        &setup,
        &Options {
            concurrencies: vec![1, 4],
            limit: Limit::Requests(100),
            warmup: 10,
            rate: None,
            repeat: 3,
        },
    )
    .unwrap();
    let table = bench::table(&rows);
    assert_eq!(rows.len(), 2);
    for row in &rows {
        for f in [row.direct, row.proxy, row.gateway] {
            assert_eq!(f.requests, 100, "{table}");
        }
        // The gateway's own CPU time is measured (the others share the
        // harness's process).
        assert!(row.gateway.cpu_us.is_some_and(|us| us > 0.0), "{table}");
        assert_eq!((row.direct.cpu_us, row.proxy.cpu_us), (None, None));
    }
    assert!(table.contains("| 4 | gateway | 100 |"), "{table}");
    assert!(table.contains("added p50 ms"), "{table}");

    let addrs = [
        setup.upstream.addr,
        setup.proxy.addr,
        setup
            .gateway
            .base
            .trim_start_matches("http://")
            .parse()
            .unwrap(),
    ];
    drop(setup);
    std::thread::sleep(std::time::Duration::from_millis(200));
    for addr in addrs {
        assert!(
            TcpStream::connect(addr).is_err(),
            "{addr} still accepts connections"
        );
    }
}
