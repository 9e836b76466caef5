//! Putting a generated bundle on disk, and comparing one with what is there.
//!
//! Writing never leaves a half-written bundle: every file goes to a temporary name first
//! and is renamed into place only when all of them were written. It never overwrites a
//! file it did not write (one not listed in the bundle's manifest) unless forced, and
//! it removes files that an earlier generation wrote but this one no longer does.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use super::{Files, MANIFEST};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{} exists and was not written by s3bridge generate; move it away or pass --force to overwrite it", .0.display())]
    Foreign(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What an earlier `generate` wrote into `dir`, from its manifest.
fn previous_files(dir: &Path) -> BTreeSet<String> {
    let Ok(text) = fs::read_to_string(dir.join(MANIFEST)) else {
        return BTreeSet::new();
    };
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .chain(std::iter::once(MANIFEST.to_string()))
        .collect()
}

/// Summary of a write.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub changed: Vec<String>,
    pub unchanged: usize,
    pub removed: Vec<String>,
}

pub fn write(dir: &Path, files: &Files, force: bool) -> Result<Written, WriteError> {
    let owned = previous_files(dir);
    let mut result = Written::default();
    let mut pending = Vec::new();
    for (rel, content) in files {
        let path = dir.join(rel);
        match fs::read_to_string(&path) {
            Ok(existing) if existing == *content => {
                result.unchanged += 1;
                continue;
            }
            Ok(_) if !owned.contains(rel) && !force => return Err(WriteError::Foreign(path)),
            _ => {}
        }
        pending.push((rel.clone(), path, content));
    }

    let mut staged = Vec::new();
    let stage_all = (|| {
        for (rel, path, content) in &pending {
            let parent = path.parent().expect("bundle files live in a directory");
            fs::create_dir_all(parent).map_err(io_error(parent))?;
            let tmp = parent.join(format!(
                ".{}.s3bridge-tmp",
                path.file_name().unwrap_or_default().to_string_lossy()
            ));
            fs::write(&tmp, content).map_err(io_error(&tmp))?;
            staged.push((rel.clone(), tmp, path.clone()));
        }
        Ok(())
    })();
    if let Err(e) = stage_all {
        for (_, tmp, _) in &staged {
            let _ = fs::remove_file(tmp);
        }
        return Err(e);
    }
    for (rel, tmp, path) in staged {
        fs::rename(&tmp, &path).map_err(io_error(&path))?;
        result.changed.push(rel);
    }
    for stale in owned.iter().filter(|rel| !files.contains_key(*rel)) {
        let path = dir.join(stale);
        match fs::remove_file(&path) {
            Ok(()) => result.removed.push(stale.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
    }
    Ok(result)
}

/// Unified diffs between `dir` and `files`, one per differing file; empty when current.
pub fn check(dir: &Path, files: &Files) -> Vec<String> {
    let mut diffs = Vec::new();
    for (rel, content) in files {
        let existing = fs::read_to_string(dir.join(rel)).ok();
        if existing.as_deref() == Some(content.as_str()) {
            continue;
        }
        let old = existing.unwrap_or_default();
        let diff = TextDiff::from_lines(old.as_str(), content.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{rel}"), &format!("b/{rel}"))
            .to_string();
        diffs.push(diff);
    }
    for stale in previous_files(dir)
        .iter()
        .filter(|rel| !files.contains_key(*rel))
    {
        let old = fs::read_to_string(dir.join(stale)).unwrap_or_default();
        if old.is_empty() {
            continue;
        }
        diffs.push(
            TextDiff::from_lines(old.as_str(), "")
                .unified_diff()
                .header(&format!("a/{stale}"), "/dev/null")
                .to_string(),
        );
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> Files {
        let mut f: Files = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let listing: String = f.keys().map(|k| format!("{k}\n")).collect();
        f.insert(MANIFEST.into(), listing);
        f
    }

    #[test]
    fn writes_checks_and_removes_stale_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = files(&[("main.tf", "a\n"), ("imports.tf", "i\n")]);
        let written = write(dir.path(), &first, false).unwrap();
        assert_eq!(written.changed.len(), 3);
        assert!(check(dir.path(), &first).is_empty());

        let second = files(&[("main.tf", "b\n")]);
        let diffs = check(dir.path(), &second);
        assert!(
            diffs.iter().any(|d| d.contains("-a") && d.contains("+b")),
            "{diffs:?}"
        );
        assert!(
            diffs.iter().any(|d| d.contains("a/imports.tf")),
            "{diffs:?}"
        );
        let written = write(dir.path(), &second, false).unwrap();
        assert_eq!(written.removed, vec!["imports.tf".to_string()]);
        assert!(!dir.path().join("imports.tf").exists());
        assert!(check(dir.path(), &second).is_empty());
    }

    #[test]
    fn refuses_to_overwrite_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("main.tf"), "mine\n").unwrap();
        let bundle = files(&[("main.tf", "generated\n")]);
        assert!(matches!(
            write(dir.path(), &bundle, false),
            Err(WriteError::Foreign(_))
        ));
        assert_eq!(
            fs::read_to_string(dir.path().join("main.tf")).unwrap(),
            "mine\n"
        );
        assert!(
            !dir.path().join(MANIFEST).exists(),
            "nothing is written when one file is refused"
        );
        write(dir.path(), &bundle, true).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("main.tf")).unwrap(),
            "generated\n"
        );
    }
}
