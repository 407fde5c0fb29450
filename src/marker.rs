//! Dependencies with their markers evaluated as pip evaluates them.
//!
//! `pep508_rs` normalises markers into an algebra with uv's *release-only* semantics for Python
//! versions (astral-sh/uv#6171): `python_full_version <= "3.11.0a6"` becomes `<= '3.11'`, true
//! on 3.11.0. pip (through `packaging`) compares with full PEP 440 semantics — 3.11.0 is after
//! 3.11.0a6, so the marker is false — and that pattern is everywhere (`tomli;
//! python_full_version <= "3.11.0a6"` in coverage, pytest, black, mypy). pinguard answers what
//! pip would install, so a [`Dependency`] keeps its text, and when its marker compares a
//! Python version with a pre-, post- or dev-release literal, [`evaluate`] judges it the way
//! `packaging.markers` does (PEP 508 grammar; version operators through PEP 440 with
//! pre-releases allowed; other values as Python string comparisons; `extra` normalised; true
//! when true for any requested extra or for none). Every other marker is left to `pep508_rs`.

use std::fmt;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifier};
use pep508_rs::{ExtraName, MarkerEnvironment, Requirement, VersionOrUrl};

/// A requirement of a package on another, and its text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The parsed requirement.
    pub requirement: Requirement,
    text: String,
}

impl FromStr for Dependency {
    type Err = pep508_rs::Pep508Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self {
            requirement: crate::pep508::requirement(text)?,
            text: text.trim().to_owned(),
        })
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Dependency {
    /// The marker as written, if any.
    pub fn marker_text(&self) -> Option<&str> {
        marker_part(&self.text)
    }

    /// Whether a package at `version` satisfies this requirement (a direct URL never does: a
    /// lock entry comes from an index).
    pub fn admits(&self, version: Option<&Version>) -> bool {
        match (&self.requirement.version_or_url, version) {
            (Some(VersionOrUrl::VersionSpecifier(specifiers)), Some(version)) => {
                specifiers.contains(version)
            }
            (Some(VersionOrUrl::Url(_)), _) => false,
            _ => true,
        }
    }

    /// The requirement without its marker, for messages about a target where the marker
    /// held: `host[feat]>=1`.
    pub fn without_marker(&self) -> String {
        let requirement = &self.requirement;
        let mut text = requirement.name.to_string();
        if !requirement.extras.is_empty() {
            let extras: Vec<String> = requirement.extras.iter().map(ToString::to_string).collect();
            text.push_str(&format!("[{}]", extras.join(",")));
        }
        match &requirement.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                text.push_str(&specifiers.to_string())
            }
            Some(VersionOrUrl::Url(url)) => text.push_str(&format!(" @ {url}")),
            None => {}
        }
        text
    }

    /// Whether pip would install this dependency in `env` when `extras` were requested.
    pub fn applies(&self, env: &MarkerEnvironment, extras: &[ExtraName]) -> bool {
        match self.marker_text() {
            Some(marker) if needs_full_version_semantics(marker) => evaluate(marker, env, extras)
                .unwrap_or_else(|_| self.requirement.evaluate_markers(env, extras)),
            _ => self.requirement.evaluate_markers(env, extras),
        }
    }
}

/// The text after the requirement's `;` (outside quotes), trimmed.
fn marker_part(text: &str) -> Option<&str> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, ';') => return Some(text[i + 1..].trim()).filter(|m| !m.is_empty()),
            _ => {}
        }
    }
    None
}

/// Whether the marker compares a Python version with a pre-, post- or dev-release literal:
/// where release-only and full PEP 440 semantics give different answers.
fn needs_full_version_semantics(marker: &str) -> bool {
    let mentions_python = [
        "python_version",
        "python_full_version",
        "implementation_version",
    ]
    .iter()
    .any(|v| marker.contains(v));
    mentions_python
        && marker.split(['"', '\'']).skip(1).step_by(2).any(|literal| {
            Version::from_str(literal.trim())
                .is_ok_and(|v| v.any_prerelease() || v.is_post() || v.is_dev())
        })
}

/// Evaluates a PEP 508 marker as `packaging.markers.Marker.evaluate` does.
pub fn evaluate(
    marker: &str,
    env: &MarkerEnvironment,
    extras: &[ExtraName],
) -> Result<bool, String> {
    let tokens = tokenize(marker)?;
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
    };
    let expression = parser.or()?;
    if parser.pos != tokens.len() {
        return Err(format!("unexpected `{}`", tokens[parser.pos]));
    }
    // pip evaluates with each requested extra, and with none.
    let mut candidates: Vec<Option<&ExtraName>> = extras.iter().map(Some).collect();
    candidates.push(None);
    Ok(candidates
        .into_iter()
        .any(|extra| expression.eval(env, extra)))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(&'static str),
    Open,
    Close,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Word(w) => f.write_str(w),
            Self::Quoted(q) => write!(f, "'{q}'"),
            Self::Op(op) => f.write_str(op),
            Self::Open => f.write_str("("),
            Self::Close => f.write_str(")"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .ok_or("unterminated string")?;
                tokens.push(Token::Quoted(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            '<' | '>' | '=' | '!' | '~' => {
                let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
                let op = ["===", "==", "!=", "<=", ">=", "~=", "<", ">"]
                    .into_iter()
                    .find(|op| rest.starts_with(op))
                    .ok_or_else(|| format!("unknown operator at `{rest}`"))?;
                tokens.push(Token::Op(op));
                i += op.len();
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.'))
                {
                    i += 1;
                }
                if start == i {
                    return Err(format!("unexpected `{c}`"));
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(tokens)
}

enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Compare(Value, String, Value),
}

enum Value {
    Variable(String),
    Literal(String),
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
}

impl Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w == word)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.atom()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        if self.tokens.get(self.pos) == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or()?;
            if self.tokens.get(self.pos) != Some(&Token::Close) {
                return Err("missing `)`".into());
            }
            self.pos += 1;
            return Ok(inner);
        }
        let left = self.value()?;
        let op = match self.tokens.get(self.pos) {
            Some(Token::Op(op)) => (*op).to_owned(),
            Some(Token::Word(w)) if w == "in" => "in".to_owned(),
            Some(Token::Word(w))
                if w == "not"
                    && matches!(self.tokens.get(self.pos + 1), Some(Token::Word(i)) if i == "in") =>
            {
                self.pos += 1;
                "not in".to_owned()
            }
            other => return Err(format!("expected an operator, found {other:?}")),
        };
        self.pos += 1;
        let right = self.value()?;
        Ok(Expr::Compare(left, op, right))
    }

    fn value(&mut self) -> Result<Value, String> {
        let token = self.tokens.get(self.pos).ok_or("unexpected end")?;
        self.pos += 1;
        match token {
            Token::Quoted(text) => Ok(Value::Literal(text.clone())),
            Token::Word(name) => Ok(Value::Variable(name.replace('.', "_"))),
            other => Err(format!("expected a value, found `{other}`")),
        }
    }
}

impl Expr {
    fn eval(&self, env: &MarkerEnvironment, extra: Option<&ExtraName>) -> bool {
        match self {
            Self::Or(a, b) => a.eval(env, extra) || b.eval(env, extra),
            Self::And(a, b) => a.eval(env, extra) && b.eval(env, extra),
            Self::Compare(left, op, right) => {
                let is_extra = matches!(left, Value::Variable(v) if v == "extra")
                    || matches!(right, Value::Variable(v) if v == "extra");
                let resolve = |value: &Value| -> String {
                    match value {
                        Value::Literal(text) => text.clone(),
                        Value::Variable(name) => variable(env, name, extra),
                    }
                };
                let (mut l, mut r) = (resolve(left), resolve(right));
                if is_extra {
                    // packaging compares extras by their normalised names.
                    l = normalize_extra(&l);
                    r = normalize_extra(&r);
                }
                compare(&l, op, &r)
            }
        }
    }
}

fn normalize_extra(name: &str) -> String {
    ExtraName::from_str(name).map_or_else(|_| name.to_owned(), |n| n.to_string())
}

fn variable(env: &MarkerEnvironment, name: &str, extra: Option<&ExtraName>) -> String {
    match name {
        "python_version" => env.python_version().string.clone(),
        "python_full_version" => env.python_full_version().string.clone(),
        "implementation_version" => env.implementation_version().string.clone(),
        "implementation_name" => env.implementation_name().to_owned(),
        "os_name" => env.os_name().to_owned(),
        "sys_platform" => env.sys_platform().to_owned(),
        "platform_machine" => env.platform_machine().to_owned(),
        "platform_python_implementation" | "python_implementation" => {
            env.platform_python_implementation().to_owned()
        }
        "platform_release" => env.platform_release().to_owned(),
        "platform_system" => env.platform_system().to_owned(),
        "platform_version" => env.platform_version().to_owned(),
        "extra" => extra.map(ToString::to_string).unwrap_or_default(),
        _ => String::new(),
    }
}

/// PEP 508: version operators compare as PEP 440 when both sides are versions (pre-releases
/// allowed, as packaging does for markers); otherwise as Python compares strings.
fn compare(left: &str, op: &str, right: &str) -> bool {
    if !matches!(op, "in" | "not in")
        && let Ok(lhs) = Version::from_str(left)
        && let Ok(specifier) = VersionSpecifier::from_str(&format!("{op}{right}"))
    {
        return specifier.contains(&lhs);
    }
    compare_strings(left, op, right)
}

fn compare_strings(left: &str, op: &str, right: &str) -> bool {
    match op {
        "==" | "===" => left == right,
        "!=" => left != right,
        "<" => left < right,
        "<=" => left <= right,
        ">" => left > right,
        ">=" => left >= right,
        "in" => right.contains(left),
        "not in" => !right.contains(left),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
