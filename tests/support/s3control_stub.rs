//! A stand-in for S3 Control's Batch Operations API (CreateJob, DescribeJob, ListJobs),
//! which moto does not have. It records every request so tests can hold it against AWS's
//! documented shape (tests/support/s3control_check.py judges CreateJob with botocore's
//! model), and answers the way S3 Control does: REST-XML under `/v20180820/jobs`, the
//! account in `x-amz-account-id`, the same job for a repeated client request token, an
//! IdempotencyException for a reused token with another request, paginated ListJobs.
//!
//! Every other request (S3 itself: reading a completion report) is passed on to moto,
//! so one `--endpoint-url` serves both services, as one AWS account does.
//!
//! Plain std threads and blocking sockets: one thread a connection, no HTTP library.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_control(&self) -> bool {
        self.path.starts_with("/v20180820/")
    }

    /// The form s3control_check.py reads.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "method": self.method,
            "path": self.path,
            "headers": self.headers.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "body": self.body,
        })
    }
}

/// How the stub's jobs end.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub total: i64,
    pub failed: i64,
}

#[derive(Debug, Clone)]
struct Job {
    id: String,
    token: String,
    body: String,
    description: String,
    operation: String,
    describes: u32,
}

struct State {
    requests: Vec<Recorded>,
    jobs: Vec<Job>,
    next_ids: VecDeque<String>,
    outcome: Outcome,
    /// Jobs created elsewhere (other tools, or earlier), listed by ListJobs only:
    /// (id, description, status).
    foreign: Vec<(String, String, String)>,
}

pub struct S3ControlStub {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

/// ListJobs page size, small so that a few jobs already take two pages.
const PAGE: usize = 2;
const CREATED: &str = "2026-03-02T10:00:00Z";
const FINISHED: &str = "2026-03-02T10:15:40Z";

impl S3ControlStub {
    /// Starts the stub; created jobs get `job_ids` in order; S3 requests go to `moto`.
    pub fn start(moto: Option<&str>, job_ids: &[&str], outcome: Outcome) -> S3ControlStub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            requests: Vec::new(),
            jobs: Vec::new(),
            next_ids: job_ids.iter().map(|s| s.to_string()).collect(),
            outcome,
            foreign: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = moto.map(|m| m.trim_start_matches("http://").to_string());
        {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = state.clone();
                    let upstream = upstream.clone();
                    std::thread::spawn(move || serve(stream, &state, upstream.as_deref()));
                }
            });
        }
        S3ControlStub {
            endpoint: format!("http://127.0.0.1:{port}"),
            state,
            stop,
            port,
        }
    }

    pub fn add_foreign_job(&self, id: &str, description: &str) {
        self.add_listed_job(id, description, "Complete");
    }

    /// A job ListJobs lists with `status` (e.g. a Suspended one, for `status`'s verdict).
    pub fn add_listed_job(&self, id: &str, description: &str, status: &str) {
        self.state
            .lock()
            .unwrap()
            .foreign
            .push((id.into(), description.into(), status.into()));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn job_count(&self) -> usize {
        self.state.lock().unwrap().jobs.len()
    }
}

impl Drop for S3ControlStub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Recorded, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    assert!(
        !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding")),
        "the stub reads Content-Length bodies only"
    );
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let raw = {
        let mut raw = format!("{method} {path} HTTP/1.1\r\n");
        for (n, v) in &headers {
            if !n.eq_ignore_ascii_case("connection") {
                raw.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        raw.push_str("Connection: close\r\n\r\n");
        let mut raw = raw.into_bytes();
        raw.extend_from_slice(&body);
        raw
    };
    Some((
        Recorded {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        },
        raw,
    ))
}

fn serve(stream: TcpStream, state: &Mutex<State>, upstream: Option<&str>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some((request, raw)) = read_request(&mut reader) {
        state.lock().unwrap().requests.push(request.clone());
        if request.is_control() {
            let (status, body) = control(&request, &mut state.lock().unwrap());
            let reason = if status == 200 { "OK" } else { "Error" };
            let _ = write!(
                writer,
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nx-amz-request-id: STUB{}\r\nContent-Length: {}\r\n\r\n{body}",
                state.lock().unwrap().requests.len(),
                body.len()
            );
            continue;
        }
        // Not S3 Control: pass it on to moto and close (the answer says so).
        let Some(upstream) = upstream else { return };
        let mut moto = TcpStream::connect(upstream).unwrap();
        moto.write_all(&raw).unwrap();
        let mut answer = Vec::new();
        moto.read_to_end(&mut answer).unwrap();
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer from moto");
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let mut out: Vec<u8> = head
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
            .collect::<Vec<_>>()
            .join("\r\n")
            .into_bytes();
        out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
        out.extend_from_slice(&answer[split + 4..]);
        let _ = writer.write_all(&out);
        return;
    }
}

/// The text of the first `<tag>...</tag>` in `xml`, or "".
fn element<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.find(&open)
        .and_then(|start| {
            let from = start + open.len();
            xml[from..].find(&close).map(|end| &xml[from..from + end])
        })
        .unwrap_or("")
}

fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ErrorResponse><Error><Code>{code}</Code><Message>{message}</Message></Error><RequestId>STUB</RequestId></ErrorResponse>"
        ),
    )
}

fn progress(job: &Job, outcome: Outcome) -> (&'static str, String, bool) {
    // First look: running, halfway. From then on: finished.
    let (status, done_total, failed, finished) = if job.describes <= 1 {
        ("Active", outcome.total / 2, outcome.failed / 2, false)
    } else {
        ("Complete", outcome.total, outcome.failed, true)
    };
    (
        status,
        format!(
            "<ProgressSummary><TotalNumberOfTasks>{}</TotalNumberOfTasks><NumberOfTasksSucceeded>{}</NumberOfTasksSucceeded><NumberOfTasksFailed>{failed}</NumberOfTasksFailed><Timers><ElapsedTimeInActiveSeconds>{}</ElapsedTimeInActiveSeconds></Timers></ProgressSummary>",
            outcome.total,
            done_total - failed,
            if finished { 940 } else { 400 }
        ),
        finished,
    )
}

fn control(request: &Recorded, state: &mut State) -> (u16, String) {
    if request.header("x-amz-account-id").is_none() {
        return error(
            400,
            "InvalidRequest",
            "Missing required header x-amz-account-id",
        );
    }
    let path = request.path.split('?').next().unwrap_or("");
    let query = request.path.split_once('?').map(|(_, q)| q).unwrap_or("");
    match (request.method.as_str(), path) {
        ("POST", "/v20180820/jobs") => {
            let token = element(&request.body, "ClientRequestToken").to_string();
            if let Some(job) = state.jobs.iter().find(|j| j.token == token) {
                if job.body != request.body {
                    return error(
                        409,
                        "IdempotencyException",
                        "The client request token was used with a different request",
                    );
                }
                return (200, created(&job.id));
            }
            let Some(id) = state.next_ids.pop_front() else {
                return error(
                    400,
                    "TooManyRequestsException",
                    "the stub ran out of job ids",
                );
            };
            let operation = element(&request.body, "Operation");
            let operation = operation
                .trim_start_matches('<')
                .split(['>', '/', ' '])
                .next()
                .unwrap_or("")
                .to_string();
            state.jobs.push(Job {
                id: id.clone(),
                token,
                body: request.body.clone(),
                description: element(&request.body, "Description").to_string(),
                operation,
                describes: 0,
            });
            (200, created(&id))
        }
        ("GET", "/v20180820/jobs") => {
            let start: usize = query
                .split('&')
                .find_map(|p| p.strip_prefix("nextToken="))
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let outcome = state.outcome;
            let mut all: Vec<String> = state
                .jobs
                .iter()
                .map(|j| {
                    let (status, summary, _) = progress(j, outcome);
                    format!(
                        "<member><JobId>{}</JobId><Description>{}</Description><Operation>{}</Operation><Priority>10</Priority><Status>{status}</Status><CreationTime>{CREATED}</CreationTime>{summary}</member>",
                        j.id, j.description, j.operation
                    )
                })
                .collect();
            all.extend(state.foreign.iter().map(|(id, description, status)| {
                format!(
                    "<member><JobId>{id}</JobId><Description>{description}</Description><Operation>S3PutObjectTagging</Operation><Priority>5</Priority><Status>{status}</Status><CreationTime>{CREATED}</CreationTime></member>"
                )
            }));
            let page: String = all.iter().skip(start).take(PAGE).cloned().collect();
            let next = if start + PAGE < all.len() {
                format!("<NextToken>{}</NextToken>", start + PAGE)
            } else {
                String::new()
            };
            (
                200,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListJobsResult>{next}<Jobs>{page}</Jobs></ListJobsResult>"
                ),
            )
        }
        ("GET", p) if p.starts_with("/v20180820/jobs/") => {
            let id = &p["/v20180820/jobs/".len()..];
            let outcome = state.outcome;
            let Some(job) = state.jobs.iter_mut().find(|j| j.id == id) else {
                return error(404, "NotFoundException", "no such job");
            };
            job.describes += 1;
            let (status, summary, finished) = progress(job, outcome);
            let ended = if finished {
                format!("<TerminationDate>{FINISHED}</TerminationDate>")
            } else {
                String::new()
            };
            (
                200,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeJobResult><Job><JobId>{}</JobId><ConfirmationRequired>false</ConfirmationRequired><Description>{}</Description><JobArn>arn:aws:s3:ap-southeast-2:{}:job/{}</JobArn><Status>{status}</Status><Operation>{}</Operation><Priority>10</Priority>{summary}<Report>{}</Report><CreationTime>{CREATED}</CreationTime>{ended}<RoleArn>{}</RoleArn></Job></DescribeJobResult>",
                    job.id,
                    job.description,
                    request.header("x-amz-account-id").unwrap_or_default(),
                    job.id,
                    element(&job.body, "Operation"),
                    element(&job.body, "Report"),
                    element(&job.body, "RoleArn"),
                ),
            )
        }
        _ => error(404, "NotFound", "the stub does not serve this"),
    }
}

fn created(id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CreateJobResult><JobId>{id}</JobId></CreateJobResult>"
    )
}
