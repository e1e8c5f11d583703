//! Errors in mapping files, located at file:line:column with a snippet of the source.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with a mapping file, found before any data is read.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no place in the file (it cannot be read).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The source lines around the place, with a caret; empty when unknown.
    pub snippet: String,
}

/// Where a value of the mapping came from, for errors found after parsing.
pub type Located = serde_saphyr::Location;

impl MappingError {
    pub fn at(file: &Path, text: &str, line: usize, column: usize, message: String) -> Self {
        MappingError {
            file: file.to_owned(),
            line,
            column,
            snippet: snippet(text, line, column),
            message,
        }
    }

    /// An error at a node's location, as serde-saphyr reports it.
    pub fn at_loc(file: &Path, text: &str, loc: &serde_saphyr::Location, message: String) -> Self {
        MappingError::at(
            file,
            text,
            loc.line() as usize,
            loc.column() as usize,
            message,
        )
    }

    pub fn io(file: &Path, e: &std::io::Error) -> Self {
        MappingError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message: format!("cannot read the mapping: {e}"),
            snippet: String::new(),
        }
    }

    pub fn from_yaml(file: &Path, text: &str, e: &serde_saphyr::Error) -> Self {
        let (line, column) = e
            .location()
            .map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
        let mut message = e.without_snippet().to_string();
        // serde-saphyr prefixes "error: line L column C: "; we print file:line:column ourselves.
        if let Some(rest) = message.strip_prefix("error: ") {
            message = rest.to_owned();
        }
        let prefix = format!("line {line} column {column}: ");
        if let Some(rest) = message.strip_prefix(&prefix) {
            message = rest.to_owned();
        }
        if message.contains("set DuplicateKeyPolicy") {
            message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
        }
        MappingError::at(file, text, line, column, message)
    }
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file.display(), self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )?;
        if !self.snippet.is_empty() {
            write!(f, "\n{}", self.snippet)?;
        }
        Ok(())
    }
}

impl std::error::Error for MappingError {}

/// Up to two lines before `line`, the line itself and a caret under `column`.
fn snippet(text: &str, line: usize, column: usize) -> String {
    if line == 0 {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let Some(target) = lines.get(line - 1) else {
        return String::new();
    };
    let first = line.saturating_sub(2).max(1);
    let width = line.to_string().len();
    let mut out = String::new();
    for n in first..line {
        out.push_str(&format!("{n:>width$} | {}\n", lines[n - 1]));
    }
    out.push_str(&format!("{line:>width$} | {target}\n"));
    let pad: String = target
        .chars()
        .take(column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    out.push_str(&format!("{:>width$} | {pad}^", ""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_points_at_column() {
        let s = snippet("a: 1\nb: 2\nc: x\n", 3, 4);
        assert_eq!(s, "1 | a: 1\n2 | b: 2\n3 | c: x\n  |    ^");
    }

    #[test]
    fn snippet_out_of_range_is_empty() {
        assert_eq!(snippet("a", 5, 1), "");
        assert_eq!(snippet("a", 0, 1), "");
    }
}
