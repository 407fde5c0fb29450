//! The one HTTP client pinguard uses: TLS, credentials, retries, redirects.
//!
//! - **TLS** through rustls with the platform verifier, which on Linux reads the system trust
//!   store and honours `SSL_CERT_FILE`/`SSL_CERT_DIR` (corporate proxies re-sign with their own CA).
//! - **One connection pool** shared by every thread; with HTTP/2 (negotiated by ALPN) all
//!   requests to a host share one connection, which matters where many connections overload
//!   DNS or cost a TLS handshake each.
//! - **Credentials** come from the URL itself, from the index URL the request's origin matches
//!   (pip's rule: an index's credentials also cover file URLs on the same host), or from
//!   `~/.netrc` (`NETRC`). They are sent as a Basic `Authorization` header, never left in the
//!   URL, and never to another origin: reqwest drops the header on a cross-host redirect, and
//!   a redirect to another host is followed only over https.
//! - **Retries** with exponential backoff on connection errors, timeouts, 5xx and 429
//!   (honouring `Retry-After` up to a bound).
//! - **Bodies** are read within bounds ([`Body`]): a size limit on what is kept in memory,
//!   counted after decoding, a per-read timeout and an overall one; a body that breaks off
//!   is fetched again like a failed connection ([`HttpClient::get_body`]).
//! - **Connectivity** is an explicit value: [`Connectivity::Offline`] refuses every request.

mod body;
mod trace;

pub use body::{Body, BodyError, ByteSize};

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{self, HeaderMap};
use url::Origin;

use crate::safe_url::{Credentials, SafeUrl};

/// Whether pinguard may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connectivity {
    /// Requests go out.
    Online,
    /// No request goes out; only cached data is used.
    Offline,
}

/// How the client is set up.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Time allowed to connect, and to wait for the answer and for each read of its body.
    pub timeout: Duration,
    /// Time allowed for a whole request, its body included.
    pub request_timeout: Duration,
    /// The largest body kept in memory (pages, JSON, metadata), counted after decoding.
    pub max_body: ByteSize,
    /// Retries after the first attempt for transient failures.
    pub retries: u32,
    /// Online or offline.
    pub connectivity: Connectivity,
    /// URLs (indexes) whose embedded credentials also apply to other URLs of their origin.
    pub credential_urls: Vec<SafeUrl>,
    /// Whether to read `~/.netrc` (or `$NETRC`).
    pub use_netrc: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30 * 60),
            max_body: ByteSize(64 << 20),
            retries: 3,
            connectivity: Connectivity::Online,
            credential_urls: Vec::new(),
            use_netrc: true,
        }
    }
}

/// Why a request failed. URLs are shown masked.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// `--offline` forbids the request.
    #[error("{url} is not available offline")]
    Offline {
        /// The URL.
        url: SafeUrl,
    },
    /// The request could not be completed after retries.
    #[error("cannot fetch {url}: {reason}")]
    Transport {
        /// The URL.
        url: SafeUrl,
        /// The cause, with its chain.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("{url} answered {status}")]
    Status {
        /// The URL.
        url: SafeUrl,
        /// The status.
        status: StatusCode,
    },
    /// A body kept in memory passed `--max-page-size`; nothing of it was kept.
    #[error(
        "{url} sent more than {limit} (after decompression), the most pinguard reads into \
         memory; nothing of it was kept or cached (if the index really serves bodies this \
         large, raise --max-page-size or PINGUARD_MAX_PAGE_SIZE)"
    )]
    TooLarge {
        /// The URL.
        url: SafeUrl,
        /// The limit.
        limit: ByteSize,
    },
    /// A body stopped arriving for `--timeout` on every attempt.
    #[error(
        "cannot fetch {url}: its body stopped, no data for {} s (--timeout), on {attempts} \
         attempt{}; if the server is that slow, raise --timeout",
        timeout.as_secs(),
        if *attempts == 1 { "" } else { "s" }
    )]
    Stalled {
        /// The URL.
        url: SafeUrl,
        /// The read timeout.
        timeout: Duration,
        /// Requests made.
        attempts: u32,
    },
    /// A request, body included, took longer than `--request-timeout`.
    #[error(
        "{url} took longer than {} s in all (--request-timeout); if the server is that slow, \
         raise --request-timeout or PINGUARD_REQUEST_TIMEOUT",
        limit.as_secs()
    )]
    Overdue {
        /// The URL.
        url: SafeUrl,
        /// The limit.
        limit: Duration,
    },
    /// The client could not be built (TLS set-up).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

impl HttpError {
    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A transport failure for `url`, with the cause's chain flattened.
    pub fn transport(url: &SafeUrl, error: &(dyn std::error::Error + 'static)) -> Self {
        Self::Transport {
            url: url.clone(),
            reason: error_chain(error),
        }
    }
}

/// Renders an error and its sources as `a: b: c`, skipping repeats.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
        {
            // Below a timeout is only the runtime saying the same thing again.
            parts.push("timed out".to_owned());
            break;
        }
        let text = plain_words(e.to_string());
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// The HTTP stack's own words for a layer of an error, in a user's words: its wrappers
/// (`error sending request`, `client error (Connect)`) say nothing and are dropped (empty),
/// and the names of its layers become what went wrong.
fn plain_words(text: String) -> String {
    const SILENT: [&str; 4] = [
        "error sending request",
        "client error (Connect)",
        "client error (SendRequest)",
        "error resolving DNS",
    ];
    if SILENT.iter().any(|w| text.starts_with(w)) {
        return String::new();
    }
    match text.as_str() {
        "dns error" => "cannot resolve the host name".to_owned(),
        "tcp connect error" => "cannot connect".to_owned(),
        _ => text,
    }
}

/// The shared client. Cheap to share by reference across threads.
pub struct HttpClient {
    /// Built on first use (see [`HttpClient::new`]).
    client: OnceLock<Client>,
    settings: HttpSettings,
    origin_credentials: Vec<(Origin, Credentials)>,
    netrc: Option<netrc::Netrc>,
    /// Per origin, whether a request has succeeded (so a connection is open).
    warm: Mutex<HashMap<Origin, Arc<Mutex<bool>>>>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// HTTP/2 receive window per stream.
const STREAM_WINDOW: u32 = 4 << 20;
/// HTTP/2 receive window for the whole connection.
const CONNECTION_WINDOW: u32 = 32 << 20;

/// The largest HTTP/2 frame pinguard accepts (the protocol's default is 16 KiB). A body is
/// handed to the waiting thread a frame at a time, so 16 KiB frames woke a worker about a
/// dozen times per index page; servers that honour this send most pages in one or two
/// frames. Cold locks of master's 575 pins, 10 alternating runs: 0.36 s against 0.39 s
/// hash-only, 1.05 s of CPU against 1.15 s with dependencies. The cost: a frame arrives
/// whole, so at the default 30 s `--timeout` a link slower than about 9 KB/s stalls.
const MAX_FRAME: u32 = 256 << 10;

/// Builds the HTTP client for `settings`: the timeouts, redirect policy and HTTP/2 windows
/// every request shares.
fn build_client(settings: &HttpSettings) -> Result<Client, HttpError> {
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects");
        }
        let next = attempt.url();
        let previous = attempt.previous().last();
        let other_host = previous.is_some_and(|p| p.host_str() != next.host_str());
        let downgrade = previous.is_some_and(|p| p.scheme() == "https");
        if (other_host || downgrade) && next.scheme() != "https" {
            let shown = SafeUrl::from(next.clone());
            return attempt.error(format!(
                "refusing to follow a redirect to {shown}: redirects to another host or \
                     from https are followed only over https"
            ));
        }
        attempt.follow()
    });
    Client::builder()
        .user_agent(concat!("pinguard/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(CachingResolver::default()))
        .connect_timeout(settings.timeout)
        // In the blocking client this bounds each wait: for the answer, and for each read
        // of the body. The whole request is bounded by `request_timeout`, in `Body`.
        .timeout(settings.timeout)
        .redirect(redirects)
        // HTTP/2's default 64 KiB stream window throttles multi-megabyte index pages
        // fetched many at once over one connection; let each stream and the connection
        // have megabytes in flight.
        .http2_initial_stream_window_size(STREAM_WINDOW)
        .http2_initial_connection_window_size(CONNECTION_WINDOW)
        .http2_max_frame_size(MAX_FRAME)
        .build()
        .map_err(|e| HttpError::Setup(error_chain(&e)))
}

/// The longest `Retry-After` pinguard waits for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

impl HttpClient {
    /// The client for `settings`. The HTTP client itself (TLS set-up, the system's trust
    /// store) is built on the first request, so that a command that finds everything in its
    /// cache, such as a warm install, never pays for it (12 ms of a 0.4 s install); a set-up
    /// failure is then that request's error.
    pub fn new(settings: HttpSettings) -> Self {
        let origin_credentials = settings
            .credential_urls
            .iter()
            .filter_map(|url| Some((url.origin(), url.credentials()?)))
            .collect();
        let netrc = settings
            .use_netrc
            .then(|| netrc::Netrc::new().ok())
            .flatten();
        Self {
            client: OnceLock::new(),
            settings,
            origin_credentials,
            netrc,
            warm: Mutex::new(HashMap::new()),
        }
    }

    /// The HTTP client, built now if this is the first request.
    fn client(&self) -> Result<&Client, HttpError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let built = build_client(&self.settings)?;
        Ok(self.client.get_or_init(|| built))
    }

    /// Lets the client use the credentials of more URLs for their origins (index URLs learnt
    /// after the client was built, such as a requirements file's own `--index-url`).
    pub fn add_credential_urls(&mut self, urls: impl IntoIterator<Item = SafeUrl>) {
        for url in urls {
            if let Some(credentials) = url.credentials() {
                self.origin_credentials.push((url.origin(), credentials));
            }
            self.settings.credential_urls.push(url);
        }
    }

    /// Whether requests may go out.
    pub fn connectivity(&self) -> Connectivity {
        self.settings.connectivity
    }

    /// The credentials to send to `url`.
    fn credentials_for(&self, url: &SafeUrl) -> Option<Credentials> {
        if let Some(creds) = url.credentials() {
            return Some(creds);
        }
        let origin = url.origin();
        if let Some((_, creds)) = self.origin_credentials.iter().find(|(o, _)| *o == origin) {
            return Some(creds.clone());
        }
        let host = url.host_str()?;
        let entry = self.netrc.as_ref()?.hosts.get(host)?;
        Some(Credentials {
            username: entry.login.clone(),
            password: Some(entry.password.clone()),
        })
    }

    fn request(&self, url: &SafeUrl, headers: &HeaderMap) -> Result<RequestBuilder, HttpError> {
        let mut request = self
            .client()?
            .get(url.without_credentials())
            .headers(headers.clone());
        if let Some(creds) = self.credentials_for(url) {
            request = request.basic_auth(creds.username, creds.password);
        }
        Ok(request)
    }

    /// Sends a GET, retrying transient failures, and returns the response whatever its status
    /// (except retryable ones, which are returned only when retries ran out). Private: every
    /// body is read through [`HttpClient::get_body`], within its bounds.
    ///
    /// The first request to an origin goes alone; requests to it from other threads wait for
    /// its answer and then reuse its connection (all of them over one HTTP/2 connection).
    /// Without this, dozens of threads starting together each resolve the host and open a TLS
    /// connection of their own, which overloads resolvers (lookups then time out after
    /// seconds) and costs a handshake each.
    fn get(&self, url: &SafeUrl, headers: &HeaderMap) -> Result<Response, HttpError> {
        if self.settings.connectivity == Connectivity::Offline {
            return Err(HttpError::Offline { url: url.clone() });
        }
        let gate = {
            let mut warm = self.warm.lock().unwrap_or_else(|e| e.into_inner());
            warm.entry(url.origin()).or_default().clone()
        };
        let mut warmed = gate.lock().unwrap_or_else(|e| e.into_inner());
        if *warmed {
            drop(warmed);
            return self.send_with_retries(url, headers);
        }
        let result = self.send_with_retries(url, headers);
        *warmed = result.is_ok();
        result
    }

    fn send_with_retries(&self, url: &SafeUrl, headers: &HeaderMap) -> Result<Response, HttpError> {
        let mut attempt = 0;
        loop {
            let result = self.request(url, headers)?.send();
            let wait = match &result {
                Ok(response) if is_retryable_status(response.status()) => {
                    Some(retry_after(response).unwrap_or_else(|| backoff(attempt)))
                }
                Err(e) if is_retryable_error(e) => Some(backoff(attempt)),
                _ => None,
            };
            match wait {
                Some(wait) if attempt < self.settings.retries => {
                    attempt += 1;
                    std::thread::sleep(wait);
                }
                _ => return result.map_err(|e| HttpError::transport(url, &e.without_url())),
            }
        }
    }

    /// Sends a GET and hands the answer, whatever its status, to `read`. A body that breaks
    /// off ([`BodyError::Broken`]: reset, cut short, no data within `--timeout`) is fetched
    /// again with the client's backoff, like a failed connection; `read` then starts over.
    pub fn get_body<T, E: From<HttpError>>(
        &self,
        url: &SafeUrl,
        headers: &HeaderMap,
        mut read: impl FnMut(&mut Body) -> Result<T, BodyError<E>>,
    ) -> Result<T, E> {
        let mut attempt = 0;
        let range = headers
            .get(reqwest::header::RANGE)
            .and_then(|v| v.to_str().ok());
        trace::start();
        loop {
            let started = Instant::now();
            let response = match self.get(url, headers) {
                Ok(response) => response,
                Err(error) => {
                    trace::record(&trace::Request {
                        started,
                        url,
                        range,
                        status: error.status().map(|s| s.as_u16()),
                        bytes: 0,
                    });
                    return Err(error.into());
                }
            };
            let mut body = Body::new(response, url, started, self.settings.request_timeout);
            let outcome = read(&mut body);
            trace::record(&trace::Request {
                started,
                url,
                range,
                status: Some(body.status().as_u16()),
                bytes: body.bytes_read(),
            });
            match outcome {
                Ok(value) => return Ok(value),
                Err(BodyError::Fatal(error)) => return Err(error),
                Err(BodyError::Broken(error)) => {
                    let Some(wait) = self.should_retry(attempt) else {
                        return Err(self.broken(url, &error, attempt).into());
                    };
                    attempt += 1;
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// The error for a body that broke off on every attempt: a stall names `--timeout`.
    fn broken(&self, url: &SafeUrl, error: &std::io::Error, retries: u32) -> HttpError {
        if !body::is_stall(error) {
            return HttpError::transport(url, error);
        }
        HttpError::Stalled {
            url: url.clone(),
            timeout: self.settings.timeout,
            attempts: retries + 1,
        }
    }

    /// Fetches the whole body of `url` (a success status required), at most `limit` bytes.
    pub fn get_bytes(
        &self,
        url: &SafeUrl,
        headers: &HeaderMap,
        limit: ByteSize,
    ) -> Result<Vec<u8>, HttpError> {
        self.get_body(url, headers, |body| {
            body.require_success()?;
            body.read_all(limit)
        })
    }

    /// The largest body kept in memory (`--max-page-size`).
    pub fn max_body(&self) -> ByteSize {
        self.settings.max_body
    }

    /// The wait before retry number `attempt + 1`, or `None` when retries ran out.
    fn should_retry(&self, attempt: u32) -> Option<Duration> {
        (attempt < self.settings.retries).then(|| backoff(attempt))
    }
}

/// Resolves each host name once per run. Against an index that speaks only HTTP/1.1, every
/// worker opens a connection of its own, and the system resolver would be asked the same name
/// dozens of times at once, which the resolvers pinguard meets answer slowly or not at all.
#[derive(Default)]
struct CachingResolver {
    known: Arc<Mutex<HashMap<String, Vec<std::net::SocketAddr>>>>,
}

impl reqwest::dns::Resolve for CachingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let known = self.known.clone();
        Box::pin(async move {
            let cached = known
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&host)
                .cloned();
            let addrs = match cached {
                Some(addrs) => addrs,
                None => {
                    let lookup = host.clone();
                    let addrs: Vec<std::net::SocketAddr> = tokio::task::spawn_blocking(move || {
                        std::net::ToSocketAddrs::to_socket_addrs(&(lookup.as_str(), 0))
                            .map(Iterator::collect)
                    })
                    .await??;
                    known
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(host, addrs.clone());
                    addrs
                }
            };
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn is_retryable_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

fn is_retryable_error(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_request() || error.is_body()
}

fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// 250 ms, 500 ms, 1 s, … capped at 8 s, plus up to 25% jitter so parallel retries spread.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(250) * 2u32.saturating_pow(attempt.min(5));
    let base = base.min(Duration::from_secs(8));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    base + base.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_errors_read_as_what_went_wrong() {
        assert_eq!(plain_words("error sending request for url (x)".into()), "");
        assert_eq!(plain_words("client error (Connect)".into()), "");
        assert_eq!(
            plain_words("dns error".into()),
            "cannot resolve the host name"
        );
        assert_eq!(plain_words("tcp connect error".into()), "cannot connect");
        assert_eq!(
            plain_words("Connection refused (os error 111)".into()),
            "Connection refused (os error 111)"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(
            backoff(0) >= Duration::from_millis(250) && backoff(0) < Duration::from_millis(320)
        );
        assert!(backoff(2) >= Duration::from_secs(1));
        assert!(backoff(30) <= Duration::from_secs(10));
    }

    #[test]
    fn host_names_are_resolved_once() {
        use reqwest::dns::Resolve;
        use std::str::FromStr;
        let resolver = CachingResolver::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let name = || reqwest::dns::Name::from_str("localhost").unwrap();
        let first: Vec<_> = runtime
            .block_on(resolver.resolve(name()))
            .unwrap()
            .collect();
        assert!(!first.is_empty());
        // The answer is kept; a second lookup is served from it.
        resolver
            .known
            .lock()
            .unwrap()
            .get_mut("localhost")
            .unwrap()
            .truncate(1);
        let second: Vec<_> = runtime
            .block_on(resolver.resolve(name()))
            .unwrap()
            .collect();
        assert_eq!(second, first[..1]);
    }

    #[test]
    fn index_credentials_cover_their_origin_only() {
        let client = HttpClient::new(HttpSettings {
            credential_urls: vec![SafeUrl::parse("https://u:p@index.example/simple/").unwrap()],
            use_netrc: false,
            ..HttpSettings::default()
        });
        let same = SafeUrl::parse("https://index.example/files/a.whl").unwrap();
        let other = SafeUrl::parse("https://files.example/a.whl").unwrap();
        let creds = client.credentials_for(&same).unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_deref()),
            ("u", Some("p"))
        );
        assert!(client.credentials_for(&other).is_none());
    }
}
