//! The one door through which text enters `pep508_rs`: requirements
//! (<https://peps.python.org/pep-0508/>) and markers, parsed without ever panicking.
//!
//! `pep508_rs` 0.9 panics on some hostile input instead of returning an error: a name ending in
//! `.`, `-` or `_` before a space, `;` or `=` (`foo. ==1`, an `expect` in its name parser), and
//! a non-ASCII character right after a marker keyword (`os_name == 'a' andé`, a slice inside a
//! character). Requirements come from files an index serves (`Requires-Dist`), so a panic there
//! would let one wheel end the whole run. [`requirement`] and [`marker`] check the name first
//! (PEP 508's `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`), then catch any other panic at this
//! boundary, silenced, and turn it into a [`Pep508Error`] like the crate's own, with a position
//! in characters.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::str::FromStr;
use std::sync::Once;

use pep508_rs::{MarkerTree, Pep508Error, Pep508ErrorSource, Pep508Url, Requirement};

/// Parses a PEP 508 requirement (`name[extras] specifiers ; marker` or `name @ url`).
pub fn requirement<T: Pep508Url>(text: &str) -> Result<Requirement<T>, Pep508Error<T>> {
    if let Some(error) = bad_name_end(text) {
        return Err(error);
    }
    guarded(text, || Requirement::<T>::from_str(text))
}

/// Parses a PEP 508 marker expression (`python_version >= "3.10"`).
pub fn marker(text: &str) -> Result<MarkerTree, Pep508Error> {
    guarded(text, || MarkerTree::from_str(text))
}

/// A requirement whose name ends in `.`, `-` or `_`: an error pointing at those characters.
fn bad_name_end<T: Pep508Url>(text: &str) -> Option<Pep508Error<T>> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let leading = text.chars().take_while(|c| c.is_whitespace()).count();
    let name: Vec<char> = text
        .chars()
        .skip(leading)
        .take_while(|&c| is_name_char(c))
        .collect();
    if !name.first().is_some_and(char::is_ascii_alphanumeric) {
        return None; // pep508_rs reports a bad first character itself.
    }
    let tail = name
        .iter()
        .rev()
        .take_while(|c| !c.is_ascii_alphanumeric())
        .count();
    if tail == 0 {
        return None;
    }
    let name: String = name.into_iter().collect();
    Some(Pep508Error {
        message: Pep508ErrorSource::String(format!(
            "Package name `{name}` must end with a letter or digit, not `{}`",
            &name[name.len() - tail..]
        )),
        start: leading + name.chars().count() - tail,
        len: tail,
        input: text.to_owned(),
    })
}

/// Runs `parse`, turning a panic inside it into an error about `text`.
fn guarded<V, T: Pep508Url>(
    text: &str,
    parse: impl FnOnce() -> Result<V, Pep508Error<T>>,
) -> Result<V, Pep508Error<T>> {
    install_quiet_hook();
    QUIET.with(|quiet| quiet.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(parse));
    QUIET.with(|quiet| quiet.set(false));
    outcome.unwrap_or_else(|_| Err(unparsable(text)))
}

/// The error for text the parser gave up on: at its first non-ASCII character (the known
/// cause), else the whole text.
fn unparsable<T: Pep508Url>(text: &str) -> Pep508Error<T> {
    let (start, len, message) = match text.chars().position(|c| !c.is_ascii()) {
        Some(at) => {
            let c = text.chars().nth(at).unwrap_or_default();
            let message = format!("Unexpected character `{c}`: PEP 508 allows only ASCII here");
            (at, 1, message)
        }
        None => (
            0,
            text.chars().count(),
            "Not a valid PEP 508 expression".into(),
        ),
    };
    Pep508Error {
        message: Pep508ErrorSource::String(message),
        start,
        len,
        input: text.to_owned(),
    }
}

thread_local! {
    /// Whether this thread is inside [`guarded`], where a panic is expected and reported as an
    /// error, so that the panic hook must not print it.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Installs (once) a panic hook that is silent inside [`guarded`] and otherwise defers to the
/// hook it replaces.
fn install_quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement_error(text: &str) -> (String, usize, usize) {
        let e = requirement::<pep508_rs::VerbatimUrl>(text).unwrap_err();
        (e.message.to_string(), e.start, e.len)
    }

    #[test]
    fn a_name_ending_in_punctuation_is_an_error_not_a_panic() {
        for (text, start, len) in [("foo. ===1.0", 3, 1), ("foo- ==1", 3, 1), ("  a_-;x", 3, 2)] {
            let (message, s, l) = requirement_error(text);
            assert_eq!((s, l), (start, len), "{text}: {message}");
            assert!(
                message.contains("must end with a letter or digit"),
                "{message}"
            );
        }
        assert_eq!(
            requirement_error("foo.=1").0,
            "Package name `foo.` must end with a letter or digit, not `.`"
        );
    }

    #[test]
    fn a_non_ascii_character_after_a_marker_keyword_is_an_error_not_a_panic() {
        let (message, start, len) = requirement_error("foo===1.0 ; os_name == 'a' andé");
        assert_eq!(
            (message.as_str(), start, len),
            (
                "Unexpected character `é`: PEP 508 allows only ASCII here",
                30,
                1
            )
        );
        let e = marker("os_name == 'a' andé").unwrap_err();
        assert_eq!((e.start, e.len), (18, 1));
    }

    #[test]
    fn valid_text_still_parses() {
        let r = requirement::<pep508_rs::VerbatimUrl>(
            "oslo.config===10.7.0 ; python_version >= '3.10'",
        );
        assert_eq!(r.unwrap().name.as_ref(), "oslo-config");
        assert!(marker("python_version == '3.8é'").is_ok());
    }
}
