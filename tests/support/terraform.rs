//! Runs Terraform for the tests. `init` installs the hashicorp/aws provider from a local
//! mirror when scripts/tf-plugin-dir finds one (`terraform init -plugin-dir DIR`, fully
//! offline), else from the registry like any `terraform init` (make a mirror elsewhere
//! with `terraform providers mirror DIR` and point TF_PLUGIN_DIR at it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use super::{fake_credentials, repo};

/// The folder holding `registry.terraform.io/hashicorp/aws`, if this machine has one
/// (scripts/tf-plugin-dir looks in the places Terraform reads, never the whole disk).
pub fn plugin_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let output = Command::new(repo().join("scripts/tf-plugin-dir"))
            .output()
            .expect("run scripts/tf-plugin-dir");
        let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
        (output.status.success() && !dir.is_empty()).then(|| PathBuf::from(dir))
    })
    .clone()
}

#[derive(Clone)]
pub struct Terraform {
    pub dir: PathBuf,
    /// Extra environment, e.g. the credentials of the account the default provider
    /// credentials must act in.
    pub env: Vec<(String, String)>,
}

impl Terraform {
    pub fn new(dir: &Path) -> Terraform {
        fake_credentials();
        Terraform {
            dir: dir.to_path_buf(),
            env: Vec::new(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if args.first().map(String::as_str) == Some("init") {
            if let Some(dir) = plugin_dir() {
                args.push(format!("-plugin-dir={}", dir.display()));
            }
        }
        Command::new("terraform")
            .args(&args)
            .current_dir(&self.dir)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run terraform")
    }

    /// Runs and panics with Terraform's output unless it exits with one of `ok`.
    pub fn expect(&self, args: &[&str], ok: &[i32]) -> Output {
        let output = self.run(args);
        let code = output.status.code().unwrap_or(-1);
        let offline_hint = if args.first() == Some(&"init") && plugin_dir().is_none() {
            "\n(no local provider mirror was found, so init asked the registry; offline, make a \
             mirror elsewhere with `terraform providers mirror DIR` and set TF_PLUGIN_DIR=DIR)"
        } else {
            ""
        };
        assert!(
            ok.contains(&code),
            "terraform {} exited {code} in {}:\n{}\n{}{offline_hint}",
            args.join(" "),
            self.dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    pub fn init(&self) {
        self.expect(&["init", "-no-color", "-input=false"], &[0]);
    }
}
