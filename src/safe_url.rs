//! URLs that may carry credentials, kept so that the secret never reaches output.
//!
//! Index URLs often hold a token (`https://user:token@host/simple`). [`SafeUrl`] is the only
//! URL type the rest of pinguard prints: its `Display` and `Debug` mask the password (or a
//! lone username, which is how many services pass a token), and [`SafeUrl::without_credentials`]
//! gives the form written into locks and cache keys. Raw text that may contain URLs (a
//! requirements line shown in an error) goes through [`mask_credentials`].

use std::borrow::Cow;
use std::fmt;

use url::Url;

/// What is shown in place of a secret.
pub const MASK: &str = "****";

/// A URL whose credentials, if any, are masked whenever it is displayed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SafeUrl(Url);

/// A username and password taken out of a URL or `.netrc`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The username (may itself be a token).
    pub username: String,
    /// The password, if any.
    pub password: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({MASK})")
    }
}

impl SafeUrl {
    /// Parses an absolute URL.
    pub fn parse(input: &str) -> Result<Self, url::ParseError> {
        Url::parse(input).map(Self)
    }

    /// Resolves `reference` (absolute or relative) against this URL, as a browser would.
    pub fn join(&self, reference: &str) -> Result<Self, url::ParseError> {
        self.0.join(reference).map(Self)
    }

    /// The full URL, credentials included: only for handing to the HTTP client.
    pub fn expose(&self) -> &Url {
        &self.0
    }

    /// The credentials embedded in the URL, percent-decoded.
    pub fn credentials(&self) -> Option<Credentials> {
        let username = percent_decode(self.0.username());
        let password = self.0.password().map(percent_decode);
        if username.is_empty() && password.is_none() {
            return None;
        }
        Some(Credentials { username, password })
    }

    /// The URL with user and password removed: what goes into a lock or a cache key.
    pub fn without_credentials(&self) -> Url {
        let mut url = self.0.clone();
        // Both only fail for URLs that cannot have credentials, which then have none to remove.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url
    }

    /// `answered`, the URL a request for this one ended at after redirects, with this URL's
    /// credentials when it stayed on the same origin (they are never carried to another).
    pub fn redirected_to(&self, answered: &Url) -> Self {
        let mut url = answered.clone();
        if answered.origin() == self.0.origin() && url.username().is_empty() {
            let _ = url.set_username(self.0.username());
            let _ = url.set_password(self.0.password());
        }
        Self(url)
    }

    /// The URL's `scheme://host:port`, used to decide where credentials may be sent.
    pub fn origin(&self) -> url::Origin {
        self.0.origin()
    }

    /// The URL with a trailing slash on its path, so that joining `name/` lands under it.
    pub fn as_directory(&self) -> Self {
        let mut url = self.0.clone();
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Self(url)
    }

    /// The scheme, e.g. `https`.
    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }

    /// The host name, if any.
    pub fn host_str(&self) -> Option<&str> {
        self.0.host_str()
    }

    /// The last path segment, percent-decoded (a file name, for a file URL).
    pub fn file_name(&self) -> Option<String> {
        self.0
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .filter(|s| !s.is_empty())
            .map(percent_decode)
    }
}

impl From<Url> for SafeUrl {
    fn from(url: Url) -> Self {
        Self(url)
    }
}

impl fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.username().is_empty() && self.0.password().is_none() {
            return f.write_str(self.0.as_str());
        }
        let mut masked = self.0.clone();
        if masked.password().is_some() {
            let _ = masked.set_password(Some(MASK));
        } else {
            let _ = masked.set_username(MASK);
        }
        f.write_str(masked.as_str())
    }
}

impl fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafeUrl({self})")
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Masks the credentials of every `scheme://user:pass@` in free text (a requirements line, an
/// error from a library), so text that may hold a URL can be shown safely.
pub fn mask_credentials(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace; credentials end at its
        // last '@'.
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(MASK);
                    }
                    None => out.push_str(MASK),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_masks_password_and_lone_username() {
        let cases = [
            ("https://pypi.org/simple/", "https://pypi.org/simple/"),
            (
                "https://alice:s3cret@host/simple/",
                "https://alice:****@host/simple/",
            ),
            ("https://tok3n@host/simple/", "https://****@host/simple/"),
        ];
        for (input, shown) in cases {
            let url = SafeUrl::parse(input).unwrap();
            assert_eq!(url.to_string(), shown);
            assert_eq!(format!("{url:?}"), format!("SafeUrl({shown})"));
        }
    }

    #[test]
    fn credentials_are_decoded_and_removable() {
        let url = SafeUrl::parse("https://al%40ice:p%3Ass@host:8443/simple/").unwrap();
        let creds = url.credentials().unwrap();
        assert_eq!(creds.username, "al@ice");
        assert_eq!(creds.password.as_deref(), Some("p:ss"));
        assert_eq!(
            url.without_credentials().as_str(),
            "https://host:8443/simple/"
        );
        assert_eq!(format!("{creds:?}"), "Credentials(****)");
    }

    #[test]
    fn masks_urls_in_free_text() {
        let cases = [
            ("no url here", "no url here"),
            (
                "--index-url https://u:p@h/simple --extra-index-url http://t@x/",
                "--index-url https://u:****@h/simple --extra-index-url http://****@x/",
            ),
            ("https://h/a@b", "https://h/a@b"),
            ("see https://u:p@h", "see https://u:****@h"),
        ];
        for (input, shown) in cases {
            assert_eq!(mask_credentials(input), shown);
        }
    }

    #[test]
    fn file_name_is_last_segment() {
        let url = SafeUrl::parse("https://h/p/a/foo-1.0.tar.gz#sha256=00").unwrap();
        assert_eq!(url.file_name().as_deref(), Some("foo-1.0.tar.gz"));
        let dir = SafeUrl::parse("https://h/simple").unwrap().as_directory();
        assert_eq!(dir.to_string(), "https://h/simple/");
    }
}
