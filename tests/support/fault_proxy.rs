//! A fault-injecting HTTP proxy in front of moto: the wire between s3bridge and S3 as it
//! is on a bad day. A test points `--endpoint-url` at the proxy and gives it a schedule
//! that says, for each request, whether to pass it or which fault to inject:
//!
//! - `SlowDown` (503) and `InternalError` (500): answered by the proxy, never forwarded,
//!   as S3 refuses a request it throttles;
//! - `Refuse` (403 AccessDenied): a permanent refusal, never forwarded;
//! - `Error(status, code)`: any other S3 error, never forwarded (`404 NoSuchUpload` for a
//!   retried Complete whose upload the server already forgot);
//! - `CloseBefore`: the connection is closed before the request reaches the server;
//! - `CloseAfter`: the request is carried out by the server and the connection closed
//!   before the reply (a lost reply: the retry meets the first attempt's effect);
//! - `Truncate`: carried out, then only part of the reply is sent (half the body, or half
//!   the header block when there is no body) before the connection closes;
//! - `Delay`: forwarded after a pause (slow requests, so a signal lands mid-copy).
//!
//! Requests and replies are forwarded byte for byte (request line, headers, body, as
//! received: SigV4 signatures stay valid and moto sees exactly what the client sent),
//! framed by Content-Length or chunked transfer encoding. Each request goes to moto on a
//! connection of its own; the client's connection is kept alive between requests as
//! the reply allows.
//!
//! The schedule is a function of the request and of its attempt number (how many times
//! this proxy has seen the same method, path and query, the upload id left out), not of
//! arrival order, so a seeded schedule injects the same faults into the same requests on
//! every run, whatever the concurrency (`seeded`).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to one request.
#[derive(Clone)]
pub enum Fault {
    SlowDown,
    InternalError,
    Refuse,
    Error(u16, &'static str),
    CloseBefore,
    CloseAfter,
    /// `CloseAfter`, running a hook between the server's reply and the close (to change
    /// the world between a first attempt and its retry).
    CloseAfterThen(Arc<dyn Fn() + Send + Sync>),
    Truncate,
    Delay(Duration),
}

impl Fault {
    pub fn name(&self) -> &'static str {
        match self {
            Fault::SlowDown => "SlowDown",
            Fault::InternalError => "InternalError",
            Fault::Refuse => "Refuse",
            Fault::Error(_, code) => code,
            Fault::CloseBefore => "CloseBefore",
            Fault::CloseAfter | Fault::CloseAfterThen(_) => "CloseAfter",
            Fault::Truncate => "Truncate",
            Fault::Delay(_) => "Delay",
        }
    }
}

/// One request as the schedule sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path-style: `/bucket/key` (percent-encoded as sent).
    pub path: String,
    pub query: String,
    /// The S3 operation, from the method, query and headers (`CompleteMultipartUpload`).
    pub operation: &'static str,
    /// 1 for the first time this method + path + query (upload id aside) is seen.
    pub attempt: u32,
}

impl Request {
    pub fn bucket(&self) -> &str {
        self.path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
    }
}

type Schedule = Arc<dyn Fn(&Request) -> Option<Fault> + Send + Sync>;

/// What the proxy saw and did.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests by operation (every attempt).
    pub requests: BTreeMap<&'static str, u64>,
    /// Faults injected, by (operation, fault).
    pub injected: BTreeMap<(&'static str, &'static str), u64>,
}

pub struct FaultProxy {
    pub endpoint: String,
    stats: Arc<Mutex<Stats>>,
}

impl FaultProxy {
    /// Forwards to `upstream` (host:port), injecting what `schedule` says.
    pub fn start(
        upstream: &str,
        schedule: impl Fn(&Request) -> Option<Fault> + Send + Sync + 'static,
    ) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let stats = Arc::new(Mutex::new(Stats::default()));
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            schedule: Arc::new(schedule),
            attempts: Mutex::new(HashMap::new()),
            stats: stats.clone(),
        });
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = shared.serve(client);
                });
            }
        });
        FaultProxy { endpoint, stats }
    }

    /// How many times `fault` was injected into `operation` (any operation: "*").
    pub fn injected(&self, operation: &str, fault: &str) -> u64 {
        let stats = self.stats.lock().unwrap();
        stats
            .injected
            .iter()
            .filter(|((op, f), _)| (operation == "*" || *op == operation) && *f == fault)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests of `operation` seen (every attempt).
    pub fn requests(&self, operation: &str) -> u64 {
        self.stats
            .lock()
            .unwrap()
            .requests
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Everything injected, for failure messages.
    pub fn summary(&self) -> String {
        format!("{:?}", self.stats.lock().unwrap().injected)
    }
}

/// A schedule that, for each request `pick` accepts, injects one of `faults` with
/// probability `rate` into each of its first `max_faulty_attempts` attempts — decided
/// by a hash of `seed`, the request and its attempt number, so the same seed gives the
/// same faults on every run. Later attempts pass, so a client that retries enough wins.
pub fn seeded(
    seed: u64,
    rate: f64,
    max_faulty_attempts: u32,
    faults: Vec<Fault>,
    pick: impl Fn(&Request) -> bool + Send + Sync + 'static,
) -> impl Fn(&Request) -> Option<Fault> + Send + Sync + 'static {
    move |request| {
        if request.attempt > max_faulty_attempts || faults.is_empty() || !pick(request) {
            return None;
        }
        let mut hash = seed ^ 0x9e37_79b9_7f4a_7c15;
        for byte in request
            .method
            .bytes()
            .chain(request.path.bytes())
            .chain(identity_query(&request.query).bytes())
            .chain(request.attempt.to_le_bytes())
        {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        // Two independent draws from one hash: whether, then which.
        let draw = (hash >> 11) as f64 / (1u64 << 53) as f64;
        (draw < rate).then(|| faults[(hash % faults.len() as u64) as usize].clone())
    }
}

/// The query without the upload id (random per upload): what makes a request "the same"
/// across runs.
fn identity_query(query: &str) -> String {
    query
        .split('&')
        .filter(|p| !p.starts_with("uploadId=") && !p.starts_with("x-id="))
        .collect::<Vec<_>>()
        .join("&")
}

/// The S3 operation of a path-style request.
fn operation(method: &str, path: &str, query: &str, headers: &[(String, String)]) -> &'static str {
    let has = |name: &str| {
        query
            .split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    let header = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let object =
        path.trim_start_matches('/').contains('/') && !path.trim_start_matches('/').ends_with('/');
    match method {
        "GET" if has("uploads") => "ListMultipartUploads",
        "GET" if has("list-type") => "ListObjectsV2",
        "GET" if has("uploadId") => "ListParts",
        "GET" if has("tagging") => "GetObjectTagging",
        "GET" if has("encryption") => "GetBucketEncryption",
        "GET" if has("ownershipControls") => "GetBucketOwnershipControls",
        "GET" if object => "GetObject",
        "HEAD" if object => "HeadObject",
        "HEAD" => "HeadBucket",
        "PUT" if has("partNumber") && header("x-amz-copy-source") => "UploadPartCopy",
        "PUT" if has("partNumber") => "UploadPart",
        "PUT" if has("tagging") => "PutObjectTagging",
        "PUT" if header("x-amz-copy-source") => "CopyObject",
        "PUT" if object => "PutObject",
        "POST" if has("uploads") => "CreateMultipartUpload",
        "POST" if has("uploadId") => "CompleteMultipartUpload",
        "POST" if has("delete") => "DeleteObjects",
        "DELETE" if has("uploadId") => "AbortMultipartUpload",
        "DELETE" if object => "DeleteObject",
        _ => "Other",
    }
}

struct Shared {
    upstream: String,
    schedule: Schedule,
    attempts: Mutex<HashMap<String, u32>>,
    stats: Arc<Mutex<Stats>>,
}

/// One HTTP message as received: its head (start line and headers, with the blank line)
/// and its body (chunked framing included), and the parsed bits needed to frame it.
struct Message {
    head: Vec<u8>,
    body: Vec<u8>,
    start_line: String,
    headers: Vec<(String, String)>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn bytes(&self) -> Vec<u8> {
        [self.head.as_slice(), self.body.as_slice()].concat()
    }

    /// Whether the connection stays open after this message.
    fn keeps_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.start_line.starts_with("HTTP/1.0") {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        }
    }
}

/// Reads a message head; None when the peer closed the connection first.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<Option<Message>> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        if reader.read_until(b'\n', &mut head)? == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.lines();
    let start_line = lines.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Some(Message {
        head,
        body: Vec::new(),
        start_line,
        headers,
    }))
}

/// Reads the body `message`'s head announces, raw (chunk framing kept). `to_eof`: a
/// reply without length or chunking runs to the end of the connection.
fn read_body(
    reader: &mut impl BufRead,
    message: &mut Message,
    no_body: bool,
    to_eof: bool,
) -> std::io::Result<()> {
    if no_body {
        return Ok(());
    }
    let chunked = message
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let start = message.body.len();
            reader.read_until(b'\n', &mut message.body)?;
            let size_line = String::from_utf8_lossy(&message.body[start..]).into_owned();
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| std::io::Error::other(format!("bad chunk size {size_line:?}")))?;
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    let at = message.body.len();
                    if reader.read_until(b'\n', &mut message.body)? == 0 {
                        return Ok(());
                    }
                    if &message.body[at..] == b"\r\n" {
                        return Ok(());
                    }
                }
            }
            let at = message.body.len();
            message.body.resize(at + size + 2, 0);
            reader.read_exact(&mut message.body[at..])?;
        }
    }
    match message.header("content-length") {
        Some(length) => {
            let length: usize = length.parse().unwrap_or(0);
            message.body.resize(length, 0);
            reader.read_exact(&mut message.body)
        }
        None if to_eof => reader.read_to_end(&mut message.body).map(|_| ()),
        None => Ok(()),
    }
}

fn error_reply(status: &str, code: &str) -> Vec<u8> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test's fault proxy</Message></Error>"
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{xml}",
        xml.len()
    )
    .into_bytes()
}

impl Shared {
    fn serve(&self, client: TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(client.try_clone()?);
        let mut client = client;
        loop {
            let Some(mut request) = read_head(&mut reader)? else {
                return Ok(());
            };
            read_body(&mut reader, &mut request, false, false)?;
            let mut parts = request.start_line.split(' ');
            let method = parts.next().unwrap_or("").to_string();
            let target = parts.next().unwrap_or("").to_string();
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let (path, query) = (path.to_string(), query.to_string());
            let operation = operation(&method, &path, &query, &request.headers);
            let attempt = {
                let mut attempts = self.attempts.lock().unwrap();
                let n = attempts
                    .entry(format!("{method} {path}?{}", identity_query(&query)))
                    .or_default();
                *n += 1;
                *n
            };
            let seen = Request {
                method: method.clone(),
                path,
                query,
                operation,
                attempt,
            };
            let fault = (self.schedule)(&seen);
            {
                let mut stats = self.stats.lock().unwrap();
                *stats.requests.entry(operation).or_default() += 1;
                if let Some(fault) = &fault {
                    *stats.injected.entry((operation, fault.name())).or_default() += 1;
                }
            }
            match &fault {
                Some(Fault::SlowDown) => {
                    client.write_all(&error_reply("503 Slow Down", "SlowDown"))?;
                    continue;
                }
                Some(Fault::InternalError) => {
                    client.write_all(&error_reply("500 Internal Server Error", "InternalError"))?;
                    continue;
                }
                Some(Fault::Refuse) => {
                    client.write_all(&error_reply("403 Forbidden", "AccessDenied"))?;
                    continue;
                }
                Some(Fault::Error(status, code)) => {
                    client.write_all(&error_reply(&format!("{status} Error"), code))?;
                    continue;
                }
                Some(Fault::CloseBefore) => {
                    let _ = client.shutdown(Shutdown::Both);
                    return Ok(());
                }
                Some(Fault::Delay(pause)) => std::thread::sleep(*pause),
                _ => {}
            }
            let reply = self.forward(&request, method == "HEAD")?;
            match fault {
                Some(Fault::CloseAfter) => {
                    let _ = client.shutdown(Shutdown::Both);
                    return Ok(());
                }
                Some(Fault::CloseAfterThen(hook)) => {
                    hook();
                    let _ = client.shutdown(Shutdown::Both);
                    return Ok(());
                }
                Some(Fault::Truncate) => {
                    let cut = if reply.body.is_empty() {
                        &reply.head[..reply.head.len() / 2]
                    } else {
                        let mut sent = reply.head.clone();
                        sent.extend_from_slice(&reply.body[..reply.body.len() / 2]);
                        client.write_all(&sent)?;
                        let _ = client.shutdown(Shutdown::Both);
                        return Ok(());
                    };
                    client.write_all(cut)?;
                    let _ = client.shutdown(Shutdown::Both);
                    return Ok(());
                }
                _ => {}
            }
            client.write_all(&reply.bytes())?;
            client.flush()?;
            if !reply.keeps_alive() || !request.keeps_alive() {
                return Ok(());
            }
        }
    }

    /// Sends `request` to moto exactly as received; returns its reply exactly as sent.
    fn forward(&self, request: &Message, head_request: bool) -> std::io::Result<Message> {
        let mut server = TcpStream::connect(&self.upstream)?;
        server.write_all(&request.bytes())?;
        server.flush()?;
        let mut reader = BufReader::new(server);
        loop {
            let mut reply = read_head(&mut reader)?
                .ok_or_else(|| std::io::Error::other("moto closed without a reply"))?;
            let status: u16 = reply
                .start_line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if status == 100 {
                continue; // moto's "100 Continue" for an `Expect` the body already answered
            }
            let no_body = head_request || status == 204 || status == 304 || status < 200;
            read_body(&mut reader, &mut reply, no_body, true)?;
            return Ok(reply);
        }
    }
}
