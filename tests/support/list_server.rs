//! A listing-only S3 endpoint with synthetic buckets, so a test can measure a client's
//! memory while it lists many keys without storing any object anywhere (the in-process
//! twin of bench/fake_list_server.py).
//!
//! Bucket `keys-N` holds N virtual keys `pFFFF/kNNNNNNN` (1,000 keys a folder, in S3's
//! key order); any other bucket is empty. It answers ListObjectsV2 (prefix, delimiter,
//! start-after, continuation-token, max-keys) and GetBucketOwnershipControls, path-style;
//! anything else gets 501, so a client that starts asking for more fails loudly instead
//! of being measured on a path the server does not serve. Pages are computed on the fly.
//!
//! Plain std threads and blocking sockets: one thread a connection, no HTTP library.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

const PER_FOLDER: usize = 1000;
/// MD5 of 1 KiB of zeros: every virtual object is that.
const ETAG: &str = "\"0f343b0931126a20f133d67c2b018a3b\"";

fn key(i: usize) -> String {
    format!("p{:04}/k{:07}", i / PER_FOLDER, i)
}

/// The index of the first of `n` keys that sorts after `bound` (`inclusive`: at or after).
fn first_key_from(n: usize, bound: &str, inclusive: bool) -> usize {
    let (mut low, mut high) = (0, n);
    while low < high {
        let middle = (low + high) / 2;
        let k = key(middle);
        let before = if inclusive {
            k.as_str() < bound
        } else {
            k.as_str() <= bound
        };
        if before {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One ListObjectsV2 page of `bucket`. The continuation token is the index of the next
/// key: opaque to the client, as S3's is.
fn list_page(bucket: &str, query: &[(String, String)]) -> String {
    let get = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let n: usize = bucket
        .strip_prefix("keys-")
        .and_then(|count| count.parse().ok())
        .unwrap_or(0);
    let prefix = get("prefix").unwrap_or("");
    let delimiter = get("delimiter").filter(|d| !d.is_empty());
    let max_keys: usize = get("max-keys").and_then(|m| m.parse().ok()).unwrap_or(1000);
    let mut i = match (get("continuation-token"), get("start-after")) {
        (Some(token), _) => token.parse().unwrap_or(n),
        (None, Some(after)) if !after.is_empty() => {
            first_key_from(n, after, false).max(first_key_from(n, prefix, true))
        }
        _ => first_key_from(n, prefix, true),
    };
    let (mut contents, mut prefixes) = (Vec::new(), Vec::new());
    while i < n && contents.len() + prefixes.len() < max_keys {
        let k = key(i);
        let Some(rest) = k.strip_prefix(prefix) else {
            break;
        };
        if let Some(d) = delimiter.filter(|d| rest.contains(*d)) {
            let folder = format!("{prefix}{}{d}", rest.split(d).next().unwrap_or(""));
            // Past every key under the folder: U+10FFFF sorts after any key byte here.
            i = first_key_from(n, &format!("{folder}\u{10ffff}"), false);
            prefixes.push(folder);
            continue;
        }
        contents.push(k);
        i += 1;
    }
    let truncated = i < n && key(i).starts_with(prefix);
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>{}</Name><Prefix>{}</Prefix><MaxKeys>{max_keys}</MaxKeys>\
         <KeyCount>{}</KeyCount><IsTruncated>{truncated}</IsTruncated>",
        xml_escape(bucket),
        xml_escape(prefix),
        contents.len() + prefixes.len(),
    );
    if truncated {
        body.push_str(&format!(
            "<NextContinuationToken>{i}</NextContinuationToken>"
        ));
    }
    for k in &contents {
        body.push_str(&format!(
            "<Contents><Key>{k}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>\
             <ETag>{}</ETag><Size>1024</Size><StorageClass>STANDARD</StorageClass></Contents>",
            xml_escape(ETAG)
        ));
    }
    for p in &prefixes {
        body.push_str(&format!(
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            xml_escape(p)
        ));
    }
    body.push_str("</ListBucketResult>");
    body
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

pub struct ListServer {
    pub endpoint: String,
    /// Requests answered so far (any kind).
    pub requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl ListServer {
    pub fn start() -> ListServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the list server");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counter, stopped) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let counter = counter.clone();
                std::thread::spawn(move || serve(stream, &counter));
            }
        });
        ListServer {
            endpoint,
            requests,
            stop,
        }
    }
}

impl Drop for ListServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
    }
}

/// Answers the requests of one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, counter: &AtomicUsize) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        counter.fetch_add(1, Ordering::Relaxed);
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("");
        let target = parts.next().unwrap_or("/");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query: Vec<(String, String)> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(name), decode(value))
            })
            .collect();
        let bucket = decode(path.trim_start_matches('/').split('/').next().unwrap_or(""));
        let has = |name: &str| query.iter().any(|(n, _)| n == name);
        let (status, text) = if method != "GET" {
            ("501 Not Implemented", String::new())
        } else if has("ownershipControls") {
            (
                "200 OK",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><OwnershipControls><Rule>\
                 <ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"
                    .to_string(),
            )
        } else if query.iter().any(|(n, v)| n == "list-type" && v == "2") {
            ("200 OK", list_page(&bucket, &query))
        } else {
            ("501 Not Implemented", String::new())
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(text.as_bytes()).is_err()
        {
            return;
        }
    }
}
