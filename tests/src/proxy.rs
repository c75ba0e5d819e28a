//! A fault-injecting HTTP/1.1 proxy for one upstream, one request per connection; over
//! HTTPS it plays the TLS-terminating load balancer in front of plain-HTTP servers (and,
//! presenting another key, the interceptor the phones must refuse).
//!
//! For each request a seeded generator picks a [`Fault`]: pass it through, drop it before
//! or after the server saw it, send it twice, delay it (which reorders requests of
//! concurrent phones), cut the response midway, answer 409/413/429/500/503 itself, or
//! replay a request captured earlier (which the server must refuse).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lgt_protocol::ServerPin;
use lgt_server::TlsIdentity;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_rustls::TlsAcceptor;

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward and answer faithfully.
    Pass,
    /// Close the connection without forwarding.
    DropRequest,
    /// Forward, then close without answering (the server applied it; the phone never
    /// hears).
    DropResponse,
    /// Forward twice, answer with the second answer.
    Duplicate,
    /// Wait up to 150 ms, then pass.
    Delay,
    /// Forward, answer with the first half of the response, close.
    Cut,
    /// Answer with this status without forwarding.
    Status(u16),
    /// Pass, then replay a request captured earlier to the server.
    Replay,
}

/// Counts of what the proxy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Requests received.
    pub requests: usize,
    /// Requests given a fault other than [`Fault::Pass`].
    pub faults: usize,
    /// Replays sent to the server.
    pub replays: usize,
    /// Replays the server accepted (must stay 0).
    pub replays_accepted: usize,
    /// Bytes of the requests received from clients (heads and bodies).
    pub bytes_up: usize,
    /// Bytes of the answers sent back to clients (heads and bodies).
    pub bytes_down: usize,
}

struct Shared {
    rng: ChaCha8Rng,
    fault_rate: f64,
    stats: FaultStats,
    captured: Vec<Vec<u8>>,
    forced: std::collections::VecDeque<Fault>,
    forced_paths: Vec<(String, Fault)>,
}

/// A running proxy.
pub struct FaultProxy {
    /// Its base URL.
    pub url: String,
    /// The pin of the TLS key it started with, when over HTTPS.
    pub pin: Option<ServerPin>,
    shared: Arc<Mutex<Shared>>,
    upstreams: Arc<Vec<String>>,
    /// The TLS key presented to phones, when over HTTPS.
    tls: Option<Arc<Mutex<TlsAcceptor>>>,
    _runtime: Runtime,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://host:port`), faulting `fault_rate` of requests.
    pub fn start(upstream: &str, seed: u64, fault_rate: f64) -> Self {
        Self::balancing(&[upstream], seed, fault_rate)
    }

    /// Like [`FaultProxy::start`], spreading requests (and each copy of a duplicated or
    /// replayed one) at random over several server processes, like a load balancer.
    pub fn balancing(upstreams: &[&str], seed: u64, fault_rate: f64) -> Self {
        Self::open(upstreams, seed, fault_rate, None)
    }

    /// Like [`FaultProxy::start`], answering phones over HTTPS with `identity` (its URL is
    /// `https://...`), as a load balancer terminating TLS in front of the server.
    pub fn start_tls(upstream: &str, seed: u64, fault_rate: f64, identity: &TlsIdentity) -> Self {
        Self::open(&[upstream], seed, fault_rate, Some(identity))
    }

    /// Presents `identity` to the next connections: an interceptor on the path, or the
    /// operator's new key after a rotation.
    pub fn present(&self, identity: &TlsIdentity) {
        let tls = self.tls.as_ref().expect("an HTTPS proxy");
        *tls.lock().expect("lock") = TlsAcceptor::from(identity.server_config());
    }

    fn open(
        upstreams: &[&str],
        seed: u64,
        fault_rate: f64,
        identity: Option<&TlsIdentity>,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let upstreams: Arc<Vec<String>> = Arc::new(
            upstreams
                .iter()
                .map(|u| u.trim_start_matches("http://").to_owned())
                .collect(),
        );
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let scheme = if identity.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().expect("addr"));
        let tls = identity.map(|i| Arc::new(Mutex::new(TlsAcceptor::from(i.server_config()))));
        let accepting = tls.clone();
        let shared = Arc::new(Mutex::new(Shared {
            rng: ChaCha8Rng::seed_from_u64(seed),
            fault_rate,
            stats: FaultStats::default(),
            captured: Vec::new(),
            forced: std::collections::VecDeque::new(),
            forced_paths: Vec::new(),
        }));
        let state = shared.clone();
        let serving = upstreams.clone();
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = state.clone();
                let upstreams = serving.clone();
                let acceptor = accepting.as_ref().map(|a| a.lock().expect("lock").clone());
                tokio::spawn(async move {
                    // A refused handshake (a phone that does not pin this key) ends here.
                    let _ = match acceptor {
                        Some(acceptor) => match acceptor.accept(client).await {
                            Ok(stream) => handle(stream, &upstreams, &state).await,
                            Err(_) => Ok(()),
                        },
                        None => handle(client, &upstreams, &state).await,
                    };
                });
            }
        });
        Self {
            url,
            pin: identity.map(TlsIdentity::pin),
            shared,
            upstreams,
            tls,
            _runtime: runtime,
        }
    }

    /// Gives the next `count` requests `fault`, before any random choice.
    pub fn force_next(&self, count: usize, fault: Fault) {
        let mut s = self.shared.lock().expect("lock");
        s.forced.extend(std::iter::repeat_n(fault, count));
    }

    /// Gives the next request to `path` `fault`, before any other choice.
    pub fn force_path(&self, path: &str, fault: Fault) {
        let mut s = self.shared.lock().expect("lock");
        s.forced_paths.push((path.to_owned(), fault));
    }

    /// Changes the share of faulted requests (0 turns faults off).
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.lock().expect("lock").fault_rate = rate;
    }

    /// Replays every signed request captured so far (the first 64) to the servers, as an
    /// attacker on the network would; returns how many were sent and how many the servers
    /// accepted (must be none).
    pub fn replay_captured(&self) -> (usize, usize) {
        let captured: Vec<Vec<u8>> = self
            .shared
            .lock()
            .expect("lock")
            .captured
            .iter()
            .filter(|r| is_signed(r))
            .cloned()
            .collect();
        let upstreams = self.upstreams.clone();
        let accepted = self._runtime.block_on(async {
            let mut accepted = 0;
            for (i, request) in captured.iter().enumerate() {
                let answer = forward(&upstreams[i % upstreams.len()], request)
                    .await
                    .expect("server reachable");
                if answer.starts_with(b"HTTP/1.1 2") {
                    accepted += 1;
                }
            }
            accepted
        });
        (captured.len(), accepted)
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> FaultStats {
        self.shared.lock().expect("lock").stats.clone()
    }
}

fn pick(shared: &Mutex<Shared>, request: &[u8]) -> (Fault, Duration, Option<Vec<u8>>) {
    let mut s = shared.lock().expect("lock");
    s.stats.requests += 1;
    let path = request.split(|&b| b == b' ').nth(1).unwrap_or_default();
    if let Some(i) = s
        .forced_paths
        .iter()
        .position(|(p, _)| p.as_bytes() == path)
    {
        s.stats.faults += 1;
        return (s.forced_paths.remove(i).1, Duration::ZERO, None);
    }
    if let Some(fault) = s.forced.pop_front() {
        s.stats.faults += 1;
        return (fault, Duration::ZERO, None);
    }
    let rate = s.fault_rate;
    if !s.rng.random_bool(rate.clamp(0.0, 1.0)) {
        return (Fault::Pass, Duration::ZERO, None);
    }
    s.stats.faults += 1;
    let fault = match s.rng.random_range(0..12) {
        0 => Fault::DropRequest,
        1 | 2 => Fault::DropResponse,
        3 => Fault::Duplicate,
        4 => Fault::Delay,
        5 | 6 => Fault::Cut,
        7 => Fault::Status(409),
        8 => Fault::Status(413),
        9 => Fault::Status(429),
        10 => Fault::Status(if s.rng.random_bool(0.5) { 500 } else { 503 }),
        _ => Fault::Replay,
    };
    let delay = Duration::from_millis(s.rng.random_range(0..150));
    let replay = if fault == Fault::Replay && !s.captured.is_empty() {
        let captured = s.captured.len();
        let i = s.rng.random_range(0..captured);
        Some(s.captured[i].clone())
    } else {
        None
    };
    (fault, delay, replay)
}

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: S,
    upstreams: &[String],
    shared: &Mutex<Shared>,
) -> std::io::Result<()> {
    let upstream = || {
        let mut s = shared.lock().expect("lock");
        upstreams[s.rng.random_range(0..upstreams.len())].clone()
    };
    let Some(request) = read_message(&mut client, false).await? else {
        return Ok(());
    };
    shared.lock().expect("lock").stats.bytes_up += request.len();
    let (fault, delay, replay) = pick(shared, &request);
    let response = match fault {
        Fault::DropRequest => return Ok(()),
        Fault::Status(status) => {
            let body = "injected by the fault proxy";
            let response = format!(
                "HTTP/1.1 {status} Injected\r\ncontent-type: text/plain\r\nretry-after: 0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(response.as_bytes()).await?;
            return client.shutdown().await;
        }
        Fault::Delay => {
            tokio::time::sleep(delay).await;
            forward(&upstream(), &request).await?
        }
        Fault::Duplicate => {
            let _ = forward(&upstream(), &request).await?;
            forward(&upstream(), &request).await?
        }
        Fault::Pass | Fault::DropResponse | Fault::Cut | Fault::Replay => {
            forward(&upstream(), &request).await?
        }
    };
    {
        // Only requests the server has received (and answered): replaying one is a replay.
        let mut s = shared.lock().expect("lock");
        if s.captured.len() < 64 {
            s.captured.push(request.clone());
        }
    }
    if let Some(old) = replay {
        let answer = forward(&upstream(), &old).await?;
        let mut s = shared.lock().expect("lock");
        s.stats.replays += 1;
        // Unsigned requests (enrollment, health) may be answered again; a signed one that
        // is answered 2xx a second time would be a replay that got through.
        if is_signed(&old) && answer.starts_with(b"HTTP/1.1 2") {
            s.stats.replays_accepted += 1;
        }
    }
    let sent = match fault {
        Fault::DropResponse => return Ok(()),
        Fault::Cut => &response[..response.len() / 2],
        _ => &response[..],
    };
    client.write_all(sent).await?;
    shared.lock().expect("lock").stats.bytes_down += sent.len();
    // Over TLS, close_notify; then the connection closes, as `connection: close` said.
    client.shutdown().await
}

fn is_signed(request: &[u8]) -> bool {
    let head = String::from_utf8_lossy(request).to_ascii_lowercase();
    head.contains(&format!("\r\n{}:", lgt_protocol::headers::SIGNATURE))
}

/// Sends `request` upstream on a new connection; returns the response, rewritten to close
/// the connection after it.
async fn forward(upstream: &str, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(request).await?;
    read_message(&mut server, true)
        .await?
        .ok_or_else(|| std::io::Error::other("upstream closed"))
}

/// Reads one HTTP/1.1 message (head + a Content-Length body, or a chunked one kept in its
/// chunks, as gzipped answers come). Responses come back with `connection: close` instead of
/// whatever the server said.
async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    response: bool,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let (head_len, content_length, chunked, head) = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let parsed = if response {
            let mut r = httparse::Response::new(&mut headers);
            match r.parse(&buf).map_err(std::io::Error::other)? {
                httparse::Status::Complete(len) => {
                    Some((len, r.code.unwrap_or(0), r.reason.unwrap_or("").to_owned()))
                }
                httparse::Status::Partial => None,
            }
        } else {
            let mut r = httparse::Request::new(&mut headers);
            match r.parse(&buf).map_err(std::io::Error::other)? {
                httparse::Status::Complete(len) => Some((len, 0, String::new())),
                httparse::Status::Partial => None,
            }
        };
        if let Some((len, code, reason)) = parsed {
            let mut content_length = 0usize;
            let mut chunked = false;
            let mut kept = Vec::new();
            for h in headers.iter().take_while(|h| !h.name.is_empty()) {
                if h.name.eq_ignore_ascii_case("content-length") {
                    content_length = String::from_utf8_lossy(h.value).trim().parse().unwrap_or(0);
                }
                if h.name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = String::from_utf8_lossy(h.value)
                        .to_ascii_lowercase()
                        .contains("chunked");
                }
                if !h.name.eq_ignore_ascii_case("connection") {
                    kept.push(format!(
                        "{}: {}\r\n",
                        h.name,
                        String::from_utf8_lossy(h.value)
                    ));
                }
            }
            let head = if response {
                format!(
                    "HTTP/1.1 {code} {reason}\r\n{}connection: close\r\n\r\n",
                    kept.concat()
                )
                .into_bytes()
            } else {
                buf[..len].to_vec()
            };
            break (len, content_length, chunked, head);
        }
    };
    if chunked {
        let end = read_chunks(stream, &mut buf, head_len).await?;
        let mut message = head;
        message.extend_from_slice(&buf[head_len..end]);
        return Ok(Some(message));
    }
    while buf.len() < head_len + content_length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("message cut short"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut message = head;
    message.extend_from_slice(&buf[head_len..head_len + content_length]);
    Ok(Some(message))
}

/// Reads a chunked body starting at `buf[start..]` to its last chunk (no trailers: the server
/// sends none); returns where it ends in `buf`.
async fn read_chunks<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    start: usize,
) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let mut pos = start;
    let mut end = None;
    loop {
        if let Some(end) = end.filter(|&end| buf.len() >= end) {
            return Ok(end);
        }
        if end.is_none() && buf.len() > pos {
            match httparse::parse_chunk_size(&buf[pos..]) {
                // The last chunk, then the empty line that ends the body.
                Ok(httparse::Status::Complete((line, 0))) => {
                    end = Some(pos + line + 2);
                    continue;
                }
                Ok(httparse::Status::Complete((line, size))) => {
                    let size = usize::try_from(size).map_err(std::io::Error::other)?;
                    pos += line + size + 2;
                    continue;
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(std::io::Error::other(format!("bad chunk: {e:?}"))),
            }
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("message cut short"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
