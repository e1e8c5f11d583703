//! The patterns of `matches` conditions (`when: {from: X, matches: '...'}`).
//!
//! A condition only asks whether the pattern occurs in a short text. `regex::Regex::is_match`
//! answers with its lazy DFA after a per-search set-up (a cache from a pool, the choice of an
//! engine) that costs several times the search itself on a field of a few dozen bytes. A small
//! pattern is compiled here to a full DFA as well, which answers with a table walk. A pattern
//! whose DFA would be large, or that a DFA cannot decide (a Unicode word boundary next to
//! non-ASCII text), is searched with `regex` as before: the answer is the same either way.

use regex::Regex;
use regex_automata::Input;
use regex_automata::dfa::{Automaton, dense};

/// The most memory a pattern's DFA may take (its determinization too): the mappings' patterns
/// take a few kB.
const DFA_LIMIT: usize = 256 * 1024;

#[derive(Debug)]
pub struct Matcher {
    re: Regex,
    /// Boxed: the DFA's own fields take 800 bytes, the conditions hold many matchers.
    dfa: Option<Box<dense::DFA<Vec<u32>>>>,
}

impl Matcher {
    /// Compile `pattern` (regex's syntax; its errors are regex's).
    pub fn new(pattern: &str) -> Result<Matcher, regex::Error> {
        let re = Regex::new(pattern)?;
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .dfa_size_limit(Some(DFA_LIMIT))
                    .determinize_size_limit(Some(DFA_LIMIT)),
            )
            .build(pattern)
            .ok()
            .map(Box::new);
        Ok(Matcher { re, dfa })
    }

    /// Whether the pattern occurs in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        if let Some(dfa) = &self.dfa
            && let Ok(found) = dfa.try_search_fwd(&Input::new(text).earliest(true))
        {
            return found.is_some();
        }
        self.re.is_match(text)
    }

    #[cfg(test)]
    fn has_dfa(&self) -> bool {
        self.dfa.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mappings' condition patterns and others that test anchors, classes, case, Unicode
    /// and word boundaries.
    const PATTERNS: &[&str] = &[
        r"^[\s0-9+().-]*[0-9][\s0-9+().-]*$",
        r"(?i)^\s*(unanswered|busy)\s*$",
        r"(?i)^\s*(yes|y)\s*$",
        r"^\s*\S+\?",
        r"^\s*(\+|%2[bB])61|^\s*\(?0[2-478]",
        r"\bcat\b",
        r"(?-u:\b)cat(?-u:\b)",
        r"\w+@\w+",
        r"é+",
        r"^$",
        r"",
        r"a|",
        r"\d{3}-\d{4}$",
        r"[[:alpha:]]{2}",
        r"(?m)^x$",
        r"(?s).x",
    ];

    /// Texts made of pieces that the patterns look for, in every order up to three pieces.
    fn texts() -> Vec<String> {
        let pieces = [
            "",
            " ",
            "\t",
            "\u{a0}",
            "0",
            "7",
            "+",
            "%2b",
            "%2B",
            "61",
            "(",
            ")",
            "02",
            "04",
            "-",
            ".",
            "?",
            "x",
            "\n",
            "yes",
            "Y",
            "busy",
            "UnAnswered",
            "cat",
            "é",
            "ß",
            "a",
            "@",
            "555-1234",
            "q",
            "東",
            "\u{2028}",
        ];
        let mut out = vec![String::new()];
        for a in pieces {
            for b in pieces {
                for c in ["", " ", "cat", "7", "?", "é", "\n"] {
                    out.push(format!("{a}{b}{c}"));
                }
            }
        }
        out
    }

    #[test]
    fn answers_as_regex_does() {
        let texts = texts();
        let mut with_dfa = 0;
        for p in PATTERNS {
            let m = Matcher::new(p).unwrap();
            with_dfa += usize::from(m.has_dfa());
            let re = Regex::new(p).unwrap();
            for t in &texts {
                assert_eq!(m.is_match(t), re.is_match(t), "{p:?} on {t:?}");
            }
        }
        // The point of it: most patterns get a DFA.
        assert!(with_dfa >= PATTERNS.len() - 2, "{with_dfa}");
    }

    #[test]
    fn a_pattern_too_large_for_a_dfa_is_searched_with_regex() {
        let m = Matcher::new(r"\w{50}[0-9]{20}\w{50}").unwrap();
        assert!(!m.has_dfa());
        assert!(m.is_match(&format!(
            "{}{}{}",
            "a".repeat(50),
            "1".repeat(20),
            "b".repeat(50)
        )));
        assert!(!m.is_match("short"));
        assert!(Matcher::new("(").is_err());
    }
}
