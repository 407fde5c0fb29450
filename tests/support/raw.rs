//! A server that answers each request with whatever the test writes to the socket, for the
//! bodies [`TestServer`](super::server::TestServer) does not make: gzip-encoded, chunked
//! without end, trickled in. One connection per request (the answer ends with a close).

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

/// Writes the answer to a request for a path.
pub type Handler = dyn Fn(&str, &mut TcpStream) -> io::Result<()> + Send + Sync;

/// A running raw server on 127.0.0.1; it lives as long as the test process.
pub struct RawServer {
    addr: SocketAddr,
}

impl RawServer {
    /// Starts serving; `handler` gets each request's path and the socket.
    pub fn start(
        handler: impl Fn(&str, &mut TcpStream) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port on 127.0.0.1");
        let addr = listener.local_addr().expect("a bound address");
        let handler: Arc<Handler> = Arc::new(handler);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = handler.clone();
                thread::spawn(move || serve(stream, &*handler));
            }
        });
        Self { addr }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }
}

fn serve(mut stream: TcpStream, handler: &Handler) {
    let _ = stream.set_nodelay(true);
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let _ = handler(&path, &mut stream);
    let _ = stream.flush();
}

/// A response head: status line, the given headers and `Connection: close`.
pub fn head(status: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("Connection: close\r\n\r\n");
    text.into_bytes()
}

/// A whole response with a `Content-Length` body.
pub fn respond(
    stream: &mut TcpStream,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    let length = body.len().to_string();
    let mut headers = vec![
        ("Content-Type", content_type),
        ("Content-Length", length.as_str()),
    ];
    headers.extend_from_slice(extra);
    stream.write_all(&head("200 OK", &headers))?;
    stream.write_all(body)
}
