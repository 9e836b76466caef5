//! A pass-through HTTP proxy in front of moto that refuses chosen requests, so a test can
//! make one request of a copy fail for real (the destination refusing one part of a
//! multipart upload) and check what the product does about it.
//!
//! A bucket policy cannot do this: AWS authorizes every multipart request (create, part,
//! complete) as the same `s3:PutObject` on the same key, and so does the harness
//! (tests/support/moto_authz.py), so a Deny stops the upload before it exists rather
//! than half-way.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct FaultProxy {
    pub endpoint: String,
    /// Requests answered with 403 instead of being forwarded.
    pub refused: Arc<AtomicUsize>,
}

type Rule = Arc<dyn Fn(&str) -> bool + Send + Sync>;

impl FaultProxy {
    /// Forwards to `upstream` (host:port) every request whose request line (`PUT /b/k?x HTTP/1.1`)
    /// `refuse` does not match; answers the others with S3's AccessDenied.
    pub fn start(
        upstream: &str,
        refuse: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let refused = Arc::new(AtomicUsize::new(0));
        let rule: Rule = Arc::new(refuse);
        let upstream = upstream.to_string();
        let counter = refused.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (rule, upstream, counter) = (rule.clone(), upstream.clone(), counter.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, &*rule, &counter);
                });
            }
        });
        FaultProxy { endpoint, refused }
    }
}

fn serve(
    client: TcpStream,
    upstream: &str,
    refuse: &dyn Fn(&str) -> bool,
    refused: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    loop {
        let mut head = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(()); // the client closed the connection
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if name.eq_ignore_ascii_case("connection") {
                    continue; // replaced below
                }
            }
            let end = line == "\r\n";
            if end {
                head.extend_from_slice(b"Connection: close\r\n");
            }
            head.extend_from_slice(line.as_bytes());
            if end {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let request_line = String::from_utf8_lossy(&head)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        if refuse(&request_line) {
            refused.fetch_add(1, Ordering::SeqCst);
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>refused by the test's fault proxy</Message></Error>";
            write!(
                client,
                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{xml}",
                xml.len()
            )?;
            client.flush()?;
            continue;
        }
        let mut server = TcpStream::connect(upstream)?;
        server.write_all(&head)?;
        server.write_all(&body)?;
        let mut response = Vec::new();
        server.read_to_end(&mut response)?;
        client.write_all(&response)?;
        client.flush()?;
        return Ok(()); // upstream closed: close the client's connection too
    }
}
