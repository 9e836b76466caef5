//! Report formats shared by the commands that judge something (audit, verify): JUnit
//! for CI test tabs, SARIF for code-scanning dashboards, and small helpers for terminal
//! output. Command-specific shapes (audit's findings, verify's classes) live with their
//! command and use these.

pub mod junit;
pub mod sarif;

use std::io::IsTerminal;

/// Whether to colour output: only on a terminal, and never when NO_COLOR is set.
pub fn use_colour() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}
