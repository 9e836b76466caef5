//! Runs Terraform against the offline provider mirror: a CLI configuration with a
//! filesystem mirror for registry.terraform.io/hashicorp/* (found like
//! ../shared/bin/tf-plugin-dir does: $TF_PLUGIN_DIR, else a search of the disk).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use super::fake_credentials;

/// The folder holding `registry.terraform.io/hashicorp/aws`.
pub fn plugin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TF_PLUGIN_DIR") {
        return PathBuf::from(dir);
    }
    let output = Command::new("find")
        .args([
            "/",
            "-maxdepth",
            "4",
            "-type",
            "d",
            "-name",
            "registry.terraform.io",
            "-not",
            "-path",
            "/proc/*",
        ])
        .output()
        .expect("run find");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(Path::new)
        .find(|d| d.join("hashicorp/aws").is_dir())
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("no local Terraform provider mirror with hashicorp/aws (set TF_PLUGIN_DIR)")
}

fn cli_config() -> &'static Path {
    static CONFIG: OnceLock<PathBuf> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("s3bridge-test-{}.tfrc", std::process::id()));
        let config = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n}}\n",
            plugin_dir().display()
        );
        std::fs::write(&path, config).unwrap();
        path
    })
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
        Command::new("terraform")
            .args(args)
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", cli_config())
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
        assert!(
            ok.contains(&code),
            "terraform {} exited {code} in {}:\n{}\n{}",
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
