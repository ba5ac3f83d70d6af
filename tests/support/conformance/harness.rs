//! A gateway in front of the scripted vendor, with an account, and the
//! checks every scenario shares.

use super::*;

/// A gateway configured for the adapter in front of its [`Vendor`], and an
/// account with [`CREDITS`]: what each scenario runs on, and what an
/// adapter's own tests may run on.
pub struct Harness<A: Adapter> {
    /// The adapter.
    pub adapter: A,
    /// The mocked vendor.
    pub vendor: Vendor,
    /// The gateway.
    pub gw: Gateway,
    /// The account.
    pub account: TestAccount,
}

impl<A: Adapter> Harness<A> {
    /// Starts the vendor's mock, a gateway for it and an account.
    pub fn start(adapter: &A) -> Self {
        let vendor = Vendor::start(adapter);
        let gw = Gateway::start_with_config(&adapter.config(&vendor.mock));
        let account = gw.account(&format!("{}-user@example.com", adapter.name()), CREDITS);
        Self {
            adapter: adapter.clone(),
            vendor,
            gw,
            account,
        }
    }

    pub(super) fn what(&self) -> &'static str {
        self.adapter.name()
    }

    /// Makes the adapter's request with the native API, asserts it was
    /// accepted (202, queued, holding [`Adapter::cost`]) and returns the
    /// task id.
    pub fn submit(&self) -> String {
        let path = match self.adapter.kind() {
            Kind::Image => "/v1/images/generate",
            Kind::Video => "/v1/videos/generate",
        };
        let answer = self.gw.request_with(
            "POST",
            path,
            Some(&self.account.key),
            Some(&self.adapter.request()),
        );
        assert_eq!(
            answer.status,
            202,
            "{}: {}",
            self.what(),
            String::from_utf8_lossy(&answer.body)
        );
        let body = answer.json();
        assert_eq!(body["status"], "queued", "{}: {body}", self.what());
        assert_eq!(
            body["cost"]["credits"],
            self.adapter.cost(),
            "{}: {body}",
            self.what()
        );
        body["task_id"].as_str().expect("a task id").to_string()
    }

    /// Makes the adapter's request through the OpenAI face (images), which
    /// waits for the task.
    pub fn generate_openai(&self) -> Answer {
        self.gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&self.account.key),
            Some(&self.adapter.request()),
        )
    }

    /// The task's view (`/v1/tasks/{id}`, or `/v1/videos/tasks/{id}`).
    pub fn view(&self, id: &str) -> Value {
        let path = match self.adapter.kind() {
            Kind::Image => format!("/v1/tasks/{id}"),
            Kind::Video => format!("/v1/videos/tasks/{id}"),
        };
        self.gw
            .request_with("GET", &path, Some(&self.account.key), None)
            .json()
    }

    /// Cancels the task (`POST /v1/tasks/{id}/cancel`).
    pub fn cancel(&self, id: &str) -> Answer {
        self.gw.request_with(
            "POST",
            &format!("/v1/tasks/{id}/cancel"),
            Some(&self.account.key),
            None,
        )
    }

    /// Polls the task until it is final and its hold settled; returns it
    /// and every status seen.
    ///
    /// The gateway stores a task's final status a moment before it captures
    /// or releases the hold, so wait for both.
    pub fn wait_final(&self, id: &str) -> (Value, Vec<String>) {
        let mut seen: Vec<String> = Vec::new();
        let mut view = Value::Null;
        wait_until("the task to finish", || {
            view = self.view(id);
            let status = view["status"].as_str().unwrap_or_default().to_string();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            let cost = &view["cost"];
            let settled = cost["charged"].as_i64().unwrap_or(-1)
                + cost["refunded"].as_i64().unwrap_or(-1)
                == cost["held"].as_i64().unwrap_or(-2);
            ["succeeded", "failed", "canceled"].contains(&status.as_str()) && settled
        });
        (view, seen)
    }

    /// Waits until the task is processing while the vendor's job runs
    /// (two polls answered, and the vendor's progress if it reports one).
    pub(super) fn wait_running(&self, id: &str) -> Value {
        wait_until("the vendor's job to be running", || {
            self.vendor.polls() >= 2
        });
        let mut view = Value::Null;
        wait_until("the task to be processing", || {
            view = self.view(id);
            view["status"] == "processing"
                && self
                    .adapter
                    .running_progress()
                    .is_none_or(|p| view["progress"] == p)
        });
        view
    }

    /// The calls of the vendor's API in `received` (not the downloads).
    pub(super) fn api_calls<'r>(&self, received: &'r [Received]) -> Vec<&'r Received> {
        received
            .iter()
            .filter(|r| !self.vendor.is_output(r))
            .collect()
    }

    /// The submit calls in `received`.
    pub(super) fn submits<'r>(&self, received: &'r [Received]) -> Vec<&'r Received> {
        let (method, path) = self.adapter.submit_call();
        received
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// Asserts every API call carries the credential (and passes the
    /// adapter's checks), and no download carries it.
    pub(super) fn assert_credentials(&self, received: &[Received]) {
        let (header, value) = self.adapter.credential_header();
        for call in received {
            if self.vendor.is_output(call) {
                assert!(
                    call.header(header).is_none()
                        && !call
                            .headers
                            .iter()
                            .any(|(_, v)| v.contains(self.adapter.secret())),
                    "{}: the credential is not sent to the output host: {}",
                    self.what(),
                    call.request_line
                );
            } else {
                assert_eq!(
                    call.header(header),
                    Some(value.as_str()),
                    "{}: the host injected the operator's credential into {}",
                    self.what(),
                    call.request_line
                );
                self.adapter.check_call(call);
            }
        }
    }

    /// Asserts the task lists exactly the vendor's outputs, each served to
    /// the owner with the vendor's bytes and type (and size, for images).
    pub fn assert_outputs(&self, view: &Value) {
        let key = match self.adapter.kind() {
            Kind::Image => "images",
            Kind::Video => "videos",
        };
        let listed = view[key]
            .as_array()
            .unwrap_or_else(|| panic!("{}: the task lists its {key}: {view}", self.what()));
        let outputs = self.adapter.outputs();
        assert_eq!(listed.len(), outputs.len(), "{}: {view}", self.what());
        for (listed, output) in listed.iter().zip(&outputs) {
            assert_eq!(listed["mime_type"], output.mime, "{}: {view}", self.what());
            if self.adapter.kind() == Kind::Image {
                assert_eq!(
                    (listed["width"].as_u64(), listed["height"].as_u64()),
                    (Some(output.width.into()), Some(output.height.into())),
                    "{}: the image's size: {view}",
                    self.what()
                );
            }
            let url = listed["url"].as_str().expect("an output URL");
            let file = self
                .gw
                .request_with("GET", url, Some(&self.account.key), None);
            assert_eq!(file.status, 200, "{}: {url}", self.what());
            assert!(
                file.body == output.bytes,
                "{}: {url} serves the vendor's bytes",
                self.what()
            );
        }
    }

    /// Asserts the secret is not in the gateway's log.
    pub(super) fn assert_secret_not_logged(&self) {
        assert!(
            !self.gw.logs().contains(self.adapter.secret()),
            "{}: the secret is never logged",
            self.what()
        );
    }

    /// Asserts a failed or canceled task's hold was released in full and
    /// the account is whole.
    pub(super) fn assert_made_whole(&self, id: &str, view: &Value, what: &str) {
        let cost = self.adapter.cost();
        assert_eq!(
            view["cost"],
            json!({"held": cost, "charged": 0, "refunded": cost}),
            "{}: {what}: {view}",
            self.what()
        );
        assert_refunded(&self.gw, &self.account.id, id, cost);
        assert_eq!(
            assert_reconciles(&self.gw, &self.account.id),
            (CREDITS, 0),
            "{}: {what}: the full balance is back",
            self.what()
        );
    }

    /// Runs one error case and checks everything [`Expect`] says.
    pub(super) fn run_case(&self, case: &Case) {
        let name = format!("{}: {}", self.what(), case.name);
        let finished = matches!(case.fault, Fault::Ends(_));
        self.vendor.script(Some(case.fault.clone()), finished);
        let before = self.vendor.received().len();
        let started = Instant::now();
        let expect = &case.expect;
        let (id, message) = match self.adapter.kind() {
            Kind::Image => {
                let answer = self.generate_openai();
                assert_eq!(
                    answer.status,
                    http_status(expect.code),
                    "{name}: the caller's status; {}",
                    String::from_utf8_lossy(&answer.body)
                );
                let error = assert_error(&answer, http_status(expect.code), expect.code);
                assert_eq!(
                    error["type"],
                    error_type(expect.code),
                    "{name}: the error type"
                );
                let id = error["task_id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: the task is named: {error}"))
                    .to_string();
                (
                    id,
                    error["message"].as_str().unwrap_or_default().to_string(),
                )
            }
            Kind::Video => {
                let id = self.submit();
                let (view, _) = self.wait_final(&id);
                let message = view["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                (id, message)
            }
        };
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name}: failed promptly, not after a long wait"
        );
        let (view, _) = self.wait_final(&id);
        assert_eq!(view["status"], "failed", "{name}: {view}");
        assert_eq!(view["error"]["code"], expect.code, "{name}: {view}");
        assert_eq!(
            view["error"]["message"], message,
            "{name}: the task keeps the caller's message"
        );
        for text in &expect.says {
            assert!(
                message.contains(text.as_str()),
                "{name}: the caller's message says {text:?}: {message}"
            );
        }
        for text in &expect.hides {
            assert!(
                !message.contains(text.as_str()),
                "{name}: the caller's message does not say {text:?}: {message}"
            );
        }

        // What reached the vendor in this case.
        let received = self.vendor.received()[before..].to_vec();
        let submits = self.submits(&received);
        assert_eq!(
            submits.len(),
            expect.submits,
            "{name}: submit calls (a short Retry-After is waited out once): {:?}",
            received.iter().map(|r| &r.request_line).collect::<Vec<_>>()
        );
        if !finished {
            assert_eq!(
                received.len(),
                expect.submits,
                "{name}: submit calls only, no polls: {:?}",
                received.iter().map(|r| &r.request_line).collect::<Vec<_>>()
            );
        }
        self.assert_credentials(&received);
        self.assert_made_whole(&id, &view, &case.name);
        let logs = self.gw.logs();
        for text in &expect.logs {
            assert!(
                logs.contains(text.as_str()),
                "{name}: the operator sees {text:?} in the log"
            );
        }
    }
}
