//! Errors that point into a file the user wrote: file, line, column, the line with a caret
//! under the problem, and what to do about it.
//!
//! Rendered with `annotate-snippets` (the renderer rustc uses), plain when stderr is not a
//! terminal so that logs and tests see stable text. Everything shown — the line, and the
//! message, label, help and file name, which often quote it — passes through
//! [`mask_credentials`] first: a line with a token in an index URL can be quoted safely.

use std::fmt;
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use crate::safe_url::mask_credentials;

/// One problem at one place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it (path or masked URL).
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// The text of the line as written (credentials are masked when rendered).
    pub text: String,
    /// The byte range within `text` that is wrong.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// A short label under the caret.
    pub label: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for the byte range `span` of a whole file's `source`: finds the line.
    pub fn in_source(
        file: &str,
        source: &str,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> Self {
        let start = floor_char_boundary(source, span.start);
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let end = ceil_char_boundary(source, span.end.clamp(start, line_end));
        Self {
            file: file.to_owned(),
            line: source[..line_start].matches('\n').count() + 1,
            text: source[line_start..line_end]
                .trim_end_matches('\r')
                .to_owned(),
            span: start - line_start..end - line_start,
            message: message.into(),
            label: label.into(),
            help,
        }
    }

    /// The 1-based column (in characters) where the span starts.
    pub fn column(&self) -> usize {
        self.text[..floor_char_boundary(&self.text, self.span.start)]
            .chars()
            .count()
            + 1
    }

    /// Renders the diagnostic, with colour when `styled`.
    pub fn render(&self, styled: bool) -> String {
        let (text, span) = self.masked();
        let message = mask_credentials(&self.message);
        let label = mask_credentials(&self.label);
        let file = mask_credentials(&self.file);
        // The renderer adds `:line:column` to the path itself.
        let mut group = Level::ERROR.primary_title(&*message).element(
            Snippet::source(text.as_str())
                .line_start(self.line)
                .path(&*file)
                .annotation(AnnotationKind::Primary.span(span).label(&*label)),
        );
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(mask_credentials(help)));
        }
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        renderer.render(&[group])
    }

    /// The shown text with secrets masked, and the span moved to match.
    fn masked(&self) -> (String, Range<usize>) {
        let masked = mask_credentials(&self.text).into_owned();
        let mut span = self.span.start.min(self.text.len())..self.span.end.min(self.text.len());
        if masked != self.text {
            let common = masked
                .bytes()
                .zip(self.text.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            let shift = |pos: usize| -> usize {
                if pos > common {
                    (pos + masked.len())
                        .saturating_sub(self.text.len())
                        .max(common)
                } else {
                    pos
                }
            };
            span = shift(span.start)..shift(span.end);
        }
        // The renderer slices the text at the span: both ends must fall between characters.
        let start = floor_char_boundary(&masked, span.start);
        let mut end = ceil_char_boundary(&masked, span.end.max(start));
        if end == start {
            // Point at one character (or just past the end) so the caret is visible.
            end += masked[start..].chars().next().map_or(0, char::len_utf8);
        }
        (masked, start..end)
    }
}

/// `at`, clamped to `text`, moved back to the start of the character it falls inside.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `at`, clamped to `text`, moved on to the end of the character it falls inside.
fn ceil_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// Several diagnostics, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Renders them all, separated by blank lines.
    pub fn render(&self, styled: bool) -> String {
        self.0
            .iter()
            .map(|d| d.render(styled))
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_caret_and_help() {
        let d = Diagnostic {
            file: "uc.txt".into(),
            line: 12,
            text: "oslo.config>=10.0".into(),
            span: 11..17,
            message: "`oslo.config` is not pinned to one version".into(),
            label: "a range".into(),
            help: Some("pin it with `===`".into()),
        };
        assert_eq!(
            d.to_string(),
            "\
error: `oslo.config` is not pinned to one version
  --> uc.txt:12:12
   |
12 | oslo.config>=10.0
   |            ^^^^^^ a range
   |
   = help: pin it with `===`"
        );
    }

    #[test]
    fn masks_secrets_and_keeps_the_caret_on_the_same_text() {
        let d = Diagnostic {
            file: "r.txt".into(),
            line: 1,
            text: "--index-url https://u:longsecret@h/simple --bogus".into(),
            span: 42..49,
            message: "unknown option".into(),
            label: "here".into(),
            help: None,
        };
        let shown = d.to_string();
        assert!(!shown.contains("longsecret"), "{shown}");
        assert!(
            shown.contains("--index-url https://u:****@h/simple --bogus\n  |                                     ^^^^^^^ here"),
            "{shown}"
        );
    }

    #[test]
    fn a_span_inside_a_non_ascii_character_does_not_panic_the_renderer() {
        // toml_edit points one byte into `é` (bytes 16..18) for `"a"é`.
        let d = Diagnostic {
            file: "pylock.toml".into(),
            line: 2,
            text: "created-by = \"a\"é".into(),
            span: 17..17,
            message: "not valid TOML".into(),
            label: "here".into(),
            help: None,
        };
        assert_eq!(d.column(), 17);
        assert_eq!(
            d.to_string(),
            "\
error: not valid TOML
 --> pylock.toml:2:17
  |
2 | created-by = \"a\"é
  |                 ^ here"
        );
    }
}
