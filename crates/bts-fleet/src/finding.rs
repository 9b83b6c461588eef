//! What `fleet check` reports: an error or a warning that names the file, the line and the key,
//! and says what to do.

use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a finding is: an error stops every command that would act on the inventory, a warning
/// is printed and the command goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The inventory cannot be deployed as written.
    Error,
    /// It can, but it is likely not what the operator wants (one API node in a region, say).
    Warning,
}

/// One problem found in an inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The inventory file.
    pub file: PathBuf,
    /// The line (1-based) of the key, when it is in the file; `None` for something missing.
    pub line: Option<usize>,
    /// The key's path, e.g. `node[2].host` or `node "us-api-1".host`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: {}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}: {}\n  hint: {}", self.key, self.problem, self.fix)
    }
}

/// Maps byte offsets of an inventory's text to line numbers and builds findings for it.
#[derive(Debug, Clone)]
pub(crate) struct Source<'a> {
    pub(crate) file: &'a Path,
    text: &'a str,
}

impl<'a> Source<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Source<'a> {
        Source { file, text }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
    }

    /// A finding at byte `offset` (or nowhere).
    pub(crate) fn finding(
        &self,
        severity: Severity,
        offset: Option<usize>,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            severity,
            file: self.file.to_path_buf(),
            line: offset.map(|o| self.line(o)),
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_from_one() {
        let source = Source::new(Path::new("fleet.toml"), "a = 1\nb = 2\n\nc = 3");
        assert_eq!(source.line(0), 1);
        assert_eq!(source.line(6), 2);
        assert_eq!(source.line(13), 4);
        assert_eq!(source.line(999), 4);
    }

    #[test]
    fn a_finding_names_file_line_and_key() {
        let source = Source::new(Path::new("fleet.toml"), "x\ny\n");
        let f = source.finding(
            Severity::Error,
            Some(2),
            "node[0].host",
            "no host \"h9\"",
            "the hosts are h1",
        );
        assert_eq!(
            f.to_string(),
            "error: fleet.toml:2: node[0].host: no host \"h9\"\n  hint: the hosts are h1"
        );
    }
}
