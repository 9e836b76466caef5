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

/// A plain-text table whose cells may hold several lines (one item each), columns as
/// wide as their widest line, two spaces apart, a blank line between rows.
pub fn table(headers: &[&str], rows: &[Vec<Vec<String>>]) -> String {
    let width = |column: usize| {
        rows.iter()
            .flat_map(|row| row.get(column).into_iter().flatten())
            .map(|line| line.chars().count())
            .chain(std::iter::once(headers[column].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers);
    for (index, row) in rows.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let height = row.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for n in 0..height {
            let cells: Vec<&str> = (0..headers.len())
                .map(|c| {
                    row.get(c)
                        .and_then(|cell| cell.get(n))
                        .map_or("", String::as_str)
                })
                .collect();
            out.push_str(&line(&cells));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn tables_align_multi_line_cells() {
        let rows = vec![
            vec![vec!["a".to_string()], vec!["x".into(), "yy".into()]],
            vec![vec!["bbb".to_string()], vec!["z".into()]],
        ];
        assert_eq!(
            table(&["H", "ITEMS"], &rows),
            "H    ITEMS\na    x\n     yy\n\nbbb  z\n"
        );
    }
}
