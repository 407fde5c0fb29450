//! The lexical layer of pip requirements files: physical lines to logical lines.
//!
//! Follows pip's `req_file.preprocess`, in its order:
//! 1. a line ending in `\` is joined with the next (a comment line never continues);
//! 2. a `#` at the start of a line or after whitespace starts a comment, to the end of the
//!    logical line (so `pkg @ https://h/x.whl#sha256=…` keeps its fragment);
//! 3. `${NAME}` is replaced by environment variable NAME when it is set, where NAME is
//!    upper-case letters, digits and `_` (anything else, or an unset variable, stays as is).
//!
//! Positions are kept so that errors point at what the user wrote, not at the expanded text.

use std::ops::Range;

/// A logical line, ready to be split into a requirement and options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    /// 1-based number of the first physical line.
    pub number: usize,
    /// The text as written (continuations joined, comment removed, not expanded): what errors
    /// show, so that secrets from the environment never reach output.
    pub written: String,
    /// The text after `${VAR}` expansion: what is parsed.
    pub expanded: String,
    /// Where each expansion happened, to map positions back to `written`.
    substitutions: Vec<Substitution>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Substitution {
    written: Range<usize>,
    expanded: Range<usize>,
}

impl LogicalLine {
    /// Maps a byte range of `expanded` to the matching range of `written`. A range inside an
    /// expanded value maps to the whole `${VAR}`.
    pub fn written_span(&self, span: Range<usize>) -> Range<usize> {
        self.written_pos(span.start, false)..self.written_pos(span.end, true)
    }

    fn written_pos(&self, pos: usize, is_end: bool) -> usize {
        let mut delta: isize = 0;
        for sub in &self.substitutions {
            if pos < sub.expanded.start || (pos == sub.expanded.start && !is_end) {
                break;
            }
            if pos < sub.expanded.end || (is_end && pos == sub.expanded.end) {
                return if is_end {
                    sub.written.end
                } else {
                    sub.written.start
                };
            }
            delta = sub.written.end as isize - sub.expanded.end as isize;
        }
        (pos as isize + delta).clamp(0, self.written.len() as isize) as usize
    }
}

/// Splits `content` into logical lines, dropping blank and comment-only ones. `env` looks up
/// environment variables (injected so tests don't depend on the process environment).
pub fn logical_lines(content: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<LogicalLine> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, physical) in content.lines().enumerate() {
        let number = index + 1;
        let comment_line = starts_comment(physical);
        if let Some(joined) = physical.strip_suffix('\\').filter(|_| !comment_line) {
            pending
                .get_or_insert_with(|| (number, String::new()))
                .1
                .push_str(joined);
            continue;
        }
        let (first, mut text) = pending.take().unwrap_or((number, String::new()));
        if comment_line && !text.is_empty() {
            // pip keeps a comment that ends a continuation recognisable as a comment.
            text.push(' ');
        }
        text.push_str(physical);
        push_line(&mut out, first, &text, env);
    }
    if let Some((first, text)) = pending {
        push_line(&mut out, first, &text, env);
    }
    out
}

fn push_line(
    out: &mut Vec<LogicalLine>,
    number: usize,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) {
    let written = strip_comment(text).trim_end();
    if written.trim().is_empty() {
        return;
    }
    let (expanded, substitutions) = expand_env(written, env);
    out.push(LogicalLine {
        number,
        written: written.to_owned(),
        expanded,
        substitutions,
    });
}

/// Whether the line is a comment line: `#` first, possibly after whitespace.
fn starts_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// The text before a comment: a `#` at the start or after whitespace.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn expand_env(written: &str, env: &dyn Fn(&str) -> Option<String>) -> (String, Vec<Substitution>) {
    let mut expanded = String::with_capacity(written.len());
    let mut substitutions = Vec::new();
    let mut rest = 0;
    let mut search = 0;
    while let Some(offset) = written[search..].find("${") {
        let start = search + offset;
        let name_start = start + 2;
        let Some(len) = written[name_start..].find('}') else {
            break;
        };
        let name = &written[name_start..name_start + len];
        let end = name_start + len + 1;
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        match env(name).filter(|_| valid) {
            Some(value) => {
                expanded.push_str(&written[rest..start]);
                let at = expanded.len();
                expanded.push_str(&value);
                substitutions.push(Substitution {
                    written: start..end,
                    expanded: at..expanded.len(),
                });
                rest = end;
                search = end;
            }
            None => search = start + 2,
        }
    }
    expanded.push_str(&written[rest..]);
    (expanded, substitutions)
}

/// A whitespace-separated word of a logical line and where it starts in the expanded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The word.
    pub text: &'a str,
    /// Byte offset in the expanded line.
    pub start: usize,
}

impl Token<'_> {
    /// The byte range of the token in the expanded line.
    pub fn span(&self) -> Range<usize> {
        self.start..self.start + self.text.len()
    }
}

/// Splits on whitespace, keeping positions.
pub fn tokens(line: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push(Token {
                    text: &line[s..i],
                    start: s,
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(Token {
            text: &line[s..],
            start: s,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn texts(content: &str) -> Vec<(usize, String)> {
        logical_lines(content, &no_env)
            .into_iter()
            .map(|l| (l.number, l.expanded))
            .collect()
    }

    #[test]
    fn comments_blanks_and_continuations() {
        let content = "\u{feff}# header\n\nfoo===1.0  # trailing\nbar===2.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n  # indented comment\nurl @ https://h/x.whl#sha256=00\nlast===1 \\";
        assert_eq!(
            texts(content),
            [
                (3, "foo===1.0".to_owned()),
                (
                    4,
                    "bar===2.0     --hash=sha256:aa     --hash=sha256:bb".to_owned()
                ),
                (8, "url @ https://h/x.whl#sha256=00".to_owned()),
                (9, "last===1 ".trim_end().to_owned()),
            ]
        );
    }

    #[test]
    fn a_comment_line_does_not_continue() {
        assert_eq!(texts("# note \\\nfoo===1.0"), [(2, "foo===1.0".to_owned())]);
        assert_eq!(texts("foo===1.0 \\\n# c"), [(1, "foo===1.0".to_owned())]);
    }

    #[test]
    fn expands_set_upper_case_variables_only() {
        let env = |name: &str| match name {
            "TOKEN" => Some("s3cret".to_owned()),
            "lower" => Some("no".to_owned()),
            _ => None,
        };
        let lines = logical_lines("-i https://u:${TOKEN}@h/ ${UNSET} ${lower} ${TOKEN}x", &env);
        let line = &lines[0];
        assert_eq!(
            line.expanded,
            "-i https://u:s3cret@h/ ${UNSET} ${lower} s3cretx"
        );
        assert_eq!(
            line.written,
            "-i https://u:${TOKEN}@h/ ${UNSET} ${lower} ${TOKEN}x"
        );
        // "h/" after the first expansion maps back past `${TOKEN}@`.
        let at = line.expanded.find("@h/").unwrap();
        assert_eq!(&line.written[line.written_span(at..at + 3)], "@h/");
        // A span inside the value maps to the whole variable reference.
        let inside = line.expanded.find("cret").unwrap();
        assert_eq!(
            &line.written[line.written_span(inside..inside + 2)],
            "${TOKEN}"
        );
        // The last token, which includes an expansion, maps to the written token.
        let x = line.expanded.rfind("s3cretx").unwrap();
        assert_eq!(
            &line.written[line.written_span(x..line.expanded.len())],
            "${TOKEN}x"
        );
    }

    #[test]
    fn tokens_keep_positions() {
        let t = tokens("foo===1.0   --hash=sha256:ab");
        assert_eq!(
            t,
            [
                Token {
                    text: "foo===1.0",
                    start: 0
                },
                Token {
                    text: "--hash=sha256:ab",
                    start: 12
                }
            ]
        );
    }
}
