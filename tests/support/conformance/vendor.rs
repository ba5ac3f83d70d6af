//! The scripted mock of an adapter's upstream (the vendor).

use super::*;

/// What the mocked vendor is scripted to do, handed to
/// [`Adapter::answer`].
pub struct Script<'a> {
    /// The mock's `host:port`, for URLs it answers.
    pub host: &'a str,
    /// How the job ends.
    pub outcome: &'a Outcome,
    outputs: &'a [Output],
    job: &'a Job,
}

impl Script<'_> {
    /// Counts one poll of the job and says where it stands: queued at the
    /// first poll, running until the scenario lets it finish, then done.
    pub fn poll(&self) -> Stage {
        self.job.poll()
    }

    /// How many outputs the job makes.
    pub fn count(&self) -> usize {
        self.outputs.len()
    }

    /// The URL at which the mock serves output `i`.
    pub fn url(&self, i: usize) -> String {
        format!("http://{}{}", self.host, self.outputs[i].path(i))
    }

    /// Every output's URL.
    pub fn urls(&self) -> Vec<String> {
        (0..self.count()).map(|i| self.url(i)).collect()
    }

    /// Output `i`'s bytes.
    pub fn bytes(&self, i: usize) -> &[u8] {
        &self.outputs[i].bytes
    }

    /// Output `i`'s bytes in base64.
    pub fn base64(&self, i: usize) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.bytes(i))
    }

    /// Output `i`.
    pub fn output(&self, i: usize) -> &Output {
        &self.outputs[i]
    }
}

#[derive(Default)]
pub(super) struct State {
    fault: Option<Fault>,
    job: Job,
}

/// The mocked vendor: a [`Mock`] answering through [`Adapter::answer`], the
/// outputs it serves, and the job the scenario moves on.
pub struct Vendor {
    /// The mock.
    pub mock: Mock,
    outputs: Arc<Vec<Output>>,
    state: Arc<Mutex<State>>,
}

impl Vendor {
    /// Starts the mock of `adapter`'s vendor, with a job that runs until
    /// [`Vendor::finish`] and succeeds.
    pub fn start<A: Adapter>(adapter: &A) -> Self {
        let outputs = Arc::new(adapter.outputs());
        let state = Arc::new(Mutex::new(State::default()));
        let (adapter, served, shared) = (adapter.clone(), outputs.clone(), state.clone());
        let (submit_method, submit_path) = adapter.submit_call();
        let mock = Mock::with_handler(move |req| {
            if req.method == "GET"
                && let Some((_, out)) = served
                    .iter()
                    .enumerate()
                    .find(|(i, o)| o.path(*i) == req.path)
            {
                return Reply::bytes(200, out.mime, out.bytes.clone());
            }
            let (fault, job) = {
                let s = shared.lock().unwrap();
                (s.fault.clone(), s.job.clone())
            };
            let submit = req.method == submit_method && req.path == submit_path;
            let outcome = match &fault {
                Some(Fault::Ends(outcome)) => outcome.clone(),
                _ => Outcome::Succeeded,
            };
            let host = req.header("host").unwrap_or_default().to_string();
            let script = Script {
                host: &host,
                outcome: &outcome,
                outputs: &served,
                job: &job,
            };
            match fault {
                Some(Fault::Answer(reply)) if submit => reply,
                Some(Fault::Truncated) if submit => {
                    let mut reply = adapter.answer(req, &script);
                    reply.body.truncate(reply.body.len() / 2);
                    reply
                }
                Some(Fault::Late(delay)) if submit => adapter.answer(req, &script).delayed(delay),
                _ => adapter.answer(req, &script),
            }
        });
        Self {
            mock,
            outputs,
            state,
        }
    }

    /// A new job, which ends at its second poll if `finished`, and a fault
    /// (none: the job succeeds).
    pub fn script(&self, fault: Option<Fault>, finished: bool) {
        let job = Job::default();
        if finished {
            job.finish();
        }
        let mut s = self.state.lock().unwrap();
        s.fault = fault;
        s.job = job;
    }

    /// The current job.
    pub fn job(&self) -> Job {
        self.state.lock().unwrap().job.clone()
    }

    /// How many polls the current job answered.
    pub fn polls(&self) -> u32 {
        self.job().polls()
    }

    /// Lets the current job end at its next poll.
    pub fn finish(&self) {
        self.job().finish()
    }

    /// Everything the mock received.
    pub fn received(&self) -> Vec<Received> {
        self.mock.received()
    }

    /// The bytes of the outputs the vendor serves.
    pub fn outputs(&self) -> Vec<Vec<u8>> {
        self.outputs.iter().map(|o| o.bytes.clone()).collect()
    }

    pub(super) fn is_output(&self, call: &Received) -> bool {
        self.outputs
            .iter()
            .enumerate()
            .any(|(i, o)| o.path(i) == call.path)
    }
}
