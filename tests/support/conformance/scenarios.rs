//! The scenarios an adapter's tests call.

use super::*;

/// Panics unless the adapter is asynchronous.
pub(super) fn require_async<A: Adapter>(adapter: &A, scenario: &str) {
    assert_eq!(
        adapter.mode(),
        Mode::Asynchronous,
        "{}: {scenario} needs an asynchronous adapter (a synchronous one has no upstream job)",
        adapter.name()
    );
}

/// A successful run, for the adapter's own checks after [`success`].
pub struct Success<A: Adapter> {
    /// The gateway, vendor and account it ran on.
    pub harness: Harness<A>,
    /// The task.
    pub task_id: String,
    /// The finished task's view.
    pub view: Value,
    /// Everything the vendor received.
    pub received: Vec<Received>,
}

impl<A: Adapter> Success<A> {
    /// The one submit call.
    pub fn submitted(&self) -> &Received {
        let submits = self.harness.submits(&self.received);
        assert_eq!(submits.len(), 1);
        submits[0]
    }

    /// The calls with `method` to `path`.
    pub fn calls(&self, method: &str, path: &str) -> Vec<&Received> {
        crate::mock::calls(&self.received, method, path)
    }
}

/// The request succeeds: see the module's documentation.
pub fn success<A: Adapter>(adapter: &A) -> Success<A> {
    let h = Harness::start(adapter);
    let what = adapter.name();
    let cost = adapter.cost();
    let id = h.submit();
    if adapter.mode() == Mode::Asynchronous {
        // The task is processing while the vendor's job is, nothing charged.
        let view = h.wait_running(&id);
        assert_eq!(
            view["cost"],
            json!({"held": cost, "charged": 0, "refunded": 0}),
            "{what}: {view}"
        );
        h.vendor.finish();
    }
    let (view, seen) = h.wait_final(&id);
    assert_eq!(
        seen.last().map(String::as_str),
        Some("succeeded"),
        "{what}: {view}"
    );
    assert!(
        seen.iter()
            .all(|s| ["queued", "processing", "succeeded"].contains(&s.as_str())),
        "{what}: {seen:?}"
    );

    // What reached the vendor.
    let received = h.vendor.received();
    assert_eq!(h.submits(&received).len(), 1, "{what}: one submit call");
    h.assert_credentials(&received);
    if adapter.mode() == Mode::Asynchronous {
        assert!(
            h.vendor.polls() >= 3,
            "{what}: queued, running, done: {} polls",
            h.vendor.polls()
        );
    } else {
        assert_eq!(h.api_calls(&received).len(), 1, "{what}: one call");
    }
    if let Some((method, path)) = adapter.cancel_call() {
        assert!(
            crate::mock::calls(&received, method, &path).is_empty(),
            "{what}: nothing canceled"
        );
    }
    for (i, output) in adapter.outputs().iter().enumerate() {
        let downloads = crate::mock::calls(&received, "GET", &output.path(i)).len();
        let expected = usize::from(!adapter.inline_outputs());
        assert_eq!(downloads, expected, "{what}: downloads of output {i}");
    }

    // The outputs are exactly the vendor's; charged once.
    assert_eq!(view["model"], adapter.request()["model"], "{what}: {view}");
    assert_eq!(view["progress"], 100, "{what}: {view}");
    h.assert_outputs(&view);
    assert_eq!(
        view["cost"],
        json!({"held": cost, "charged": cost, "refunded": 0}),
        "{what}: {view}"
    );
    assert_charged_once(&h.gw, &h.account.id, &id, cost);
    assert_eq!(
        assert_reconciles(&h.gw, &h.account.id),
        (CREDITS - cost, 0),
        "{what}"
    );
    h.assert_secret_not_logged();
    Success {
        harness: h,
        task_id: id,
        view,
        received,
    }
}

/// The standard error cases for `adapter`, then its own.
pub fn cases<A: Adapter>(adapter: &A) -> Vec<Case> {
    let secret = adapter.secret();
    // Vendors quote part of a refused key: the caller must not see it.
    let quoted_key = format!("{}***", &secret[..secret.len().min(4)]);
    let mut cases = Vec::new();
    for status in [400u16, 401, 403, 404, 422, 429, 500, 502, 503] {
        let message = match status {
            401 | 403 => format!("Incorrect API key provided: {quoted_key} (conformance {status})"),
            _ => format!("Conformance case {status}: the vendor says no"),
        };
        let text = adapter.error_text(status, &message);
        let code = adapter.error_code(status);
        let mut reply = adapter.error(status, &message);
        let mut expect = Expect::code(code).logs(text.clone());
        match status {
            401 | 403 => {
                expect = expect.says("credential");
                expect.hides = vec![text, quoted_key.clone()];
            }
            429 => {
                reply = reply.header("retry-after", "1");
                expect = expect.says("rate-limiting");
                expect.submits = 2;
            }
            _ => expect = expect.says(text),
        }
        let name = if status == 429 {
            "the submit call answers 429 with Retry-After: 1".to_string()
        } else {
            format!("the submit call answers {status}")
        };
        cases.push(Case {
            name,
            fault: Fault::Answer(reply),
            expect,
        });
    }
    cases.push(Case {
        name: "the submit call's answer is unreadable".into(),
        fault: Fault::Truncated,
        expect: Expect::code("UPSTREAM_ERROR"),
    });
    cases.push(Case {
        name: "the vendor refuses the content".into(),
        fault: adapter.refusal(),
        expect: Expect::code("CONTENT_POLICY_VIOLATION"),
    });
    if adapter.mode() == Mode::Asynchronous {
        let message = "Conformance job failure: CUDA error: out of memory";
        cases.push(Case {
            name: "the vendor's job fails".into(),
            fault: Fault::Ends(Outcome::Failed(message.into())),
            expect: Expect::code("UPSTREAM_ERROR").says(message).logs(message),
        });
    }
    cases.extend(adapter.extra_cases());
    cases
}

/// Every error class, one after the other against one gateway: see the
/// module's documentation.
pub fn error_classes<A: Adapter>(adapter: &A) {
    let h = Harness::start(adapter);
    for case in cases(adapter) {
        h.run_case(&case);
    }
    h.assert_secret_not_logged();
}

/// The submit call answers after twice `timeout_ms`: `UPSTREAM_TIMEOUT`.
pub fn timeout<A: Adapter>(adapter: &A) {
    let h = Harness::start(adapter);
    h.run_case(&Case {
        name: format!("the submit call answers after {}ms", 2 * TIMEOUT_MS),
        fault: Fault::Late(Duration::from_millis(2 * TIMEOUT_MS)),
        expect: Expect::code("UPSTREAM_TIMEOUT").says("in time"),
    });
    h.assert_secret_not_logged();
}

/// Canceling a running task cancels the vendor's job and releases the hold.
pub fn cancel<A: Adapter>(adapter: &A) {
    require_async(adapter, "cancel");
    let what = adapter.name();
    let (method, path) = adapter
        .cancel_call()
        .unwrap_or_else(|| panic!("{what}: an asynchronous adapter names its cancel call"));
    let h = Harness::start(adapter);
    let id = h.submit();
    h.wait_running(&id);

    let canceled = h.cancel(&id);
    assert_eq!(
        canceled.status,
        200,
        "{what}: {}",
        String::from_utf8_lossy(&canceled.body)
    );
    assert_eq!(canceled.json()["status"], "canceled", "{what}");
    let received = h.vendor.received();
    let cancels = crate::mock::calls(&received, method, &path);
    assert_eq!(cancels.len(), 1, "{what}: the vendor was asked to cancel");
    h.assert_credentials(&received);

    // No more polls once canceled.
    let polls = h.vendor.polls();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(h.vendor.polls(), polls, "{what}: polling stopped");

    let view = h.view(&id);
    assert_eq!(view["status"], "canceled", "{what}: {view}");
    h.assert_made_whole(&id, &view, "canceled");
    assert_error(&h.cancel(&id), 409, "TASK_NOT_CANCELABLE");
    h.assert_secret_not_logged();
}

/// The gateway is killed while the vendor's job runs; once restarted it
/// polls the same job, which succeeds, charged once.
pub fn restart_mid_job<A: Adapter>(adapter: &A) {
    require_async(adapter, "restart mid-job");
    let what = adapter.name();
    let mut h = Harness::start(adapter);
    let id = h.submit();
    h.wait_running(&id);

    // A crash while the vendor is still working on it.
    h.gw.kill();
    let polls_before = h.vendor.polls();
    h.gw.restart();
    // The restarted gateway polls the same job again...
    wait_until("polls after the restart", || {
        h.vendor.polls() > polls_before
    });
    assert_eq!(h.view(&id)["status"], "processing", "{what}");
    // ...and the job finishes.
    h.vendor.finish();
    let (view, _) = h.wait_final(&id);
    assert_eq!(view["status"], "succeeded", "{what}: {view}");

    let received = h.vendor.received();
    assert_eq!(
        h.submits(&received).len(),
        1,
        "{what}: the job is not submitted again after the restart"
    );
    h.assert_credentials(&received);
    h.assert_outputs(&view);
    assert_charged_once(&h.gw, &h.account.id, &id, adapter.cost());
    assert_eq!(
        assert_reconciles(&h.gw, &h.account.id),
        (CREDITS - adapter.cost(), 0),
        "{what}"
    );
    h.assert_secret_not_logged();
}
