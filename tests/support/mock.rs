//! A small HTTP/1.1 upstream on loopback for tests: answers each request with
//! what a handler returns (or a fixed reply), records what it received, and
//! stops when dropped. Enough to reproduce a provider's documented wire
//! format: method, path, headers, JSON bodies, statuses, delays.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Received {
    /// E.g. `GET /image.png HTTP/1.1`.
    pub request_line: String,
    /// `GET`, `POST`...
    pub method: String,
    /// The path with its query, e.g. `/v1/predictions/abc`.
    pub path: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Received {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "request body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// What the mock answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::bytes(status, "application/json", value.to_string().into_bytes())
    }

    /// A reply with raw bytes.
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            content_type: content_type.to_string(),
            body,
            delay: Duration::ZERO,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Answers after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// The mock server.
pub struct Mock {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub host_port: String,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl Mock {
    /// Starts a mock answering every request with `status` and `body` of
    /// `content_type`.
    pub fn start(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        let reply = Reply::bytes(status, content_type, body);
        Self::with_handler(move |_| reply.clone())
    }

    /// Starts a mock answering each request with `handler(request)`.
    pub fn with_handler(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Handler = Arc::new(handler);
        let (rec, st) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (rec, handler) = (rec.clone(), handler.clone());
                        // One thread per connection, so a delayed reply does
                        // not hold up others.
                        std::thread::spawn(move || serve(stream, &rec, &handler));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self {
            url: format!("http://{addr}"),
            host_port: addr.to_string(),
            received,
            stop,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Reads one request (headers, then a content-length body) and answers it.
/// Connections are closed after each answer.
fn serve(mut stream: TcpStream, received: &Mutex<Vec<Received>>, handler: &Handler) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let mut parts = request_line.split(' ');
    let request = Received {
        method: parts.next().unwrap_or_default().to_string(),
        path: parts.next().unwrap_or_default().to_string(),
        request_line: request_line.clone(),
        headers,
        body,
    };
    received.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    std::thread::sleep(reply.delay);
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    for (n, v) in &reply.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The requests with `method` to `path`.
pub fn calls<'a>(received: &'a [Received], method: &str, path: &str) -> Vec<&'a Received> {
    received
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .collect()
}

/// What a poll of a mocked asynchronous job sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The first poll: the job is queued.
    Queued,
    /// Later polls, until [`Job::finish`]: the job is running.
    Running,
    /// Every poll after [`Job::finish`]: the job has ended.
    Done,
}

/// A mocked provider's asynchronous job, shared by the mock's handler and
/// the test: how many polls it answered, and whether it may end.
#[derive(Clone, Default)]
pub struct Job {
    polls: Arc<AtomicU32>,
    finish: Arc<AtomicBool>,
}

impl Job {
    /// Counts one poll and says what it sees.
    pub fn poll(&self) -> Stage {
        if self.polls.fetch_add(1, Ordering::SeqCst) == 0 {
            Stage::Queued
        } else if self.finish.load(Ordering::SeqCst) {
            Stage::Done
        } else {
            Stage::Running
        }
    }

    /// How many polls the job answered.
    pub fn polls(&self) -> u32 {
        self.polls.load(Ordering::SeqCst)
    }

    /// Lets the job end at its next poll after the first.
    pub fn finish(&self) {
        self.finish.store(true, Ordering::SeqCst);
    }
}
