//! A moto server for one test: S3, IAM, KMS and STS on one port, two accounts reached by
//! STS AssumeRole into `arn:aws:iam::<account>:role/...` (the role need not exist).
//!
//! It runs through tests/support/moto_server.py, which closes the gaps between moto and
//! AWS that s3bridge's tests meet (each named there): replication configurations read
//! back as stored and validated as S3 does, S3 requests authorised by the IAM action AWS
//! uses with bucket policies evaluated strictly (moto_authz.py), S3 Batch Operations
//! (moto_batch.py), opaque SSE-KMS ETags and part reads as on S3.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use s3bridge::aws::{Access, Session};

use super::{fake_credentials, python, repo, REGION};

pub struct Moto {
    pub endpoint: String,
    port: u16,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// Starts moto with launcher settings in the environment, e.g.
    /// `S3BRIDGE_EXISTING_OBJECT_REPLICATION_ACCOUNTS` (moto_server.py).
    pub fn start_with(envs: &[(&str, &str)]) -> Moto {
        fake_credentials();
        let port = free_port();
        let log = log_path(port);
        let child = Command::new(python("moto"))
            .arg(repo().join("tests/support/moto_server.py"))
            .arg("127.0.0.1")
            .arg(port.to_string())
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start moto (run scripts/setup, or pip install 'moto[server]')");
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while moto.request("GET", "/moto-api/", "").is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// A minimal HTTP/1.0 request to moto's own API (no HTTP client dependency).
    pub fn request(&self, method: &str, path: &str, body: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        if response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200") {
            Ok(response)
        } else {
            Err(std::io::Error::other(response))
        }
    }

    /// Empties every service.
    pub fn reset(&self) {
        self.request("POST", "/moto-api/reset", "")
            .expect("reset moto");
    }

    /// Makes moto enforce identity policies (it allows everything by default). moto
    /// counts requests before enforcing: 0 enforces from the next request, `inf` never.
    pub fn enforce_iam(&self, on: bool) {
        let body = if on { "0" } else { "inf" };
        self.request("POST", "/moto-api/reset-auth", body)
            .expect("switch moto auth");
    }

    /// Access to `account`, by assuming a role there (moto does not require it to exist).
    pub fn access(&self, account: &str) -> Access {
        self.access_in(account, REGION)
    }

    pub fn access_in(&self, account: &str, region: &str) -> Access {
        Access {
            assume_role: Some(format!("arn:aws:iam::{account}:role/s3bridge-test")),
            endpoint_url: Some(self.endpoint.clone()),
            ..Access::new(region)
        }
    }

    /// A session with the plain test credentials, as the s3bridge binary run without a
    /// profile has them: it acts in moto's default account, 123456789012 (the harness,
    /// like S3, refuses another account's buckets without a bucket-policy grant).
    pub async fn plain_session(&self) -> Session {
        Session::connect(&Access {
            endpoint_url: Some(self.endpoint.clone()),
            ..Access::new(REGION)
        })
        .await
        .expect("connect to moto")
    }

    pub async fn session(&self, account: &str) -> Session {
        self.session_in(account, REGION).await
    }

    pub async fn session_in(&self, account: &str, region: &str) -> Session {
        Session::connect(&self.access_in(account, region))
            .await
            .expect("connect to moto")
    }
}

impl Drop for Moto {
    /// Stops the server; its log goes too unless the test failed (then it is kept, and
    /// named, for the post-mortem).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = log_path(self.port);
        if std::thread::panicking() {
            eprintln!("moto's log: {}", log.display());
        } else {
            let _ = std::fs::remove_file(log);
        }
    }
}

/// Where a server's stderr goes while it runs.
fn log_path(port: u16) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("s3bridge-moto-{port}.log"))
}
