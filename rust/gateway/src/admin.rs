//! The HTTP admin API: `GET /health`, `/symbols`, `/book/{symbol}?depth=N` (JSON) and
//! `/metrics` (Prometheus text format 0.0.4), served by one thread through `mio`
//! (docs/admin.md has the shapes and the metric families).
//!
//! It only reads: atomic loads of the engine's and the gateway's counters and the books'
//! [`BookReader`](lft_engine::BookReader)s (best prices, resting orders and sequence
//! wait-free; depth lock-free). It never sends the engine a command and takes none of the
//! engine's locks, so no worker ever waits for it (beyond the memory allocator every thread
//! of the process shares).
//!
//! HTTP/1.1 by hand, for hostile clients: GET and HEAD only (others 405 with `Allow`),
//! request heads of at most `max_head_bytes` (beyond: 431) and `max_headers` fields (431),
//! no request bodies (413), at most `max_connections` connections (more are accepted and
//! closed at once), a whole request head within `request_timeout` of the connection opening
//! or of the previous response (slowloris: closed), a response written within
//! `request_timeout` too, keep-alive for at most `max_requests_per_connection` requests.
//! No input panics it: the parser indexes nothing it has not checked.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use lft_engine::system::{TradingSystem, LATENCY_BUCKETS_NS};
use lft_engine::Decimal;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::server::Counters;

/// How the admin server is configured.
#[derive(Clone, Debug)]
pub struct AdminConfig {
    /// Where to listen (default 127.0.0.1:8080: loopback).
    pub listen: SocketAddr,
    /// Open connections at most; more are accepted and closed at once.
    pub max_connections: usize,
    /// Bytes of one request head (request line and header fields) at most; beyond: 431.
    pub max_head_bytes: usize,
    /// Header fields of one request at most; beyond: 431.
    pub max_headers: usize,
    /// A connection must send a whole request head within this of opening or of its
    /// previous response (else it is closed), and read each response within it.
    pub request_timeout: Duration,
    /// Requests one connection may make; the last is answered with `Connection: close`.
    pub max_requests_per_connection: usize,
    /// Largest `depth` `/book/{symbol}` accepts.
    pub max_depth: usize,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_connections: 32,
            max_head_bytes: 8 * 1024,
            max_headers: 64,
            request_timeout: Duration::from_secs(5),
            max_requests_per_connection: 1000,
            max_depth: 1000,
        }
    }
}

/// What the admin server counted (also served on `/metrics`).
#[derive(Debug, Default)]
pub struct AdminCounters {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections closed at once because `max_connections` were open.
    pub refused_connections: AtomicU64,
    /// Requests answered (any status).
    pub requests: AtomicU64,
    /// Request heads refused before routing (malformed: 400; a body: 413; over a limit: 431;
    /// an HTTP version other than 1.0 and 1.1: 505); the connection closes after the answer.
    pub bad_requests: AtomicU64,
    /// Connections closed for not sending a whole request head (or not reading a response)
    /// within `request_timeout`.
    pub timeouts: AtomicU64,
}

/// A running admin server; dropping it (or [`AdminServer::stop`]) stops it.
pub struct AdminServer {
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The address it listens on (useful with port 0).
    pub local_addr: SocketAddr,
    /// Its counters.
    pub counters: Arc<AdminCounters>,
}

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// How long a connection answered with an error and `Connection: close` may keep sending
/// (read and discarded) before it is closed, so the client reads the answer instead of a
/// reset; and how many bytes it may send meanwhile.
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 64 * 1024;

impl AdminServer {
    /// Bind and start the server thread. `gateway`: the FIX acceptor's counters, served as
    /// per-session metrics (`None`: no gateway families).
    pub fn start(
        system: Arc<TradingSystem>,
        config: AdminConfig,
        gateway: Option<Arc<Counters>>,
    ) -> std::io::Result<AdminServer> {
        let mut listener = TcpListener::bind(config.listen)?;
        let local_addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(AdminCounters::default());
        let server = Server { system, config, gateway, counters: Arc::clone(&counters) };
        let stop_t = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("lft-admin".into())
            .spawn(move || server.run(poll, listener, &stop_t))?;
        Ok(AdminServer { stop, waker, thread: Some(thread), local_addr, counters })
    }

    /// Stop: close every connection and join the thread. Idempotent.
    pub fn stop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Server {
    system: Arc<TradingSystem>,
    config: AdminConfig,
    gateway: Option<Arc<Counters>>,
    counters: Arc<AdminCounters>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading requests and answering them.
    Serving,
    /// The last answer is queued: close once it is written.
    Closing,
    /// Answered and shut down for writing: discard what the client still sends, briefly.
    Lingering { until: Instant, discarded: usize },
    /// Done: remove it.
    Dead,
}

struct Conn {
    stream: TcpStream,
    inbox: Vec<u8>,
    outbox: Vec<u8>,
    written: usize,
    deadline: Instant,
    served: usize,
    peer_closed: bool,
    phase: Phase,
}

impl Server {
    fn run(self, mut poll: Poll, listener: TcpListener, stop: &AtomicBool) {
        let mut events = Events::with_capacity(256);
        let mut conns: HashMap<Token, Conn> = HashMap::new();
        let mut next_token = 2usize;
        let mut accept_pending = false;
        while !stop.load(std::sync::atomic::Ordering::Acquire) {
            if poll.poll(&mut events, Some(Duration::from_millis(100))).is_err() {
                continue;
            }
            let mut ready = Vec::new();
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    LISTENER => accept_pending = true,
                    token => ready.push(token),
                }
            }
            if accept_pending {
                accept_pending = false;
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            if conns.len() >= self.config.max_connections {
                                self.counters.refused_connections.fetch_add(1, Relaxed);
                                continue; // dropped: closed at once
                            }
                            let token = Token(next_token);
                            next_token = next_token.wrapping_add(1).max(2);
                            if poll
                                .registry()
                                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                                .is_ok()
                            {
                                self.counters.connections.fetch_add(1, Relaxed);
                                conns.insert(
                                    token,
                                    Conn {
                                        stream,
                                        inbox: Vec::new(),
                                        outbox: Vec::new(),
                                        written: 0,
                                        deadline: Instant::now() + self.config.request_timeout,
                                        served: 0,
                                        peer_closed: false,
                                        phase: Phase::Serving,
                                    },
                                );
                                // Data may already be waiting: drive it below.
                                ready.push(token);
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => {
                            // Out of descriptors, say: try again at the next turn.
                            accept_pending = true;
                            break;
                        }
                    }
                }
            }
            for token in ready {
                if let Some(c) = conns.get_mut(&token) {
                    // Nothing here should panic; if something did, only this connection ends.
                    let driven = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.drive(c)));
                    if driven.is_err() {
                        c.phase = Phase::Dead;
                    }
                }
            }
            let now = Instant::now();
            conns.retain(|_, c| {
                if c.phase == Phase::Dead {
                    return false;
                }
                if let Phase::Lingering { until, .. } = c.phase {
                    return now < until;
                }
                if now >= c.deadline {
                    self.counters.timeouts.fetch_add(1, Relaxed);
                    return false;
                }
                true
            });
        }
    }

    /// Write what is queued, answer every whole request buffered, read more; until the
    /// socket would block or the connection is done.
    fn drive(&self, c: &mut Conn) {
        let mut buf = [0u8; 4096];
        loop {
            if let Phase::Lingering { until, discarded } = c.phase {
                match c.stream.read(&mut buf) {
                    Ok(0) => c.phase = Phase::Dead,
                    Ok(n) if discarded + n > LINGER_BYTES => c.phase = Phase::Dead,
                    Ok(n) => {
                        c.phase = Phase::Lingering { until, discarded: discarded + n };
                        continue;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => c.phase = Phase::Dead,
                }
                return;
            }
            if c.phase == Phase::Dead {
                return;
            }
            // 1. Write.
            while c.written < c.outbox.len() {
                match c.stream.write(&c.outbox[c.written..]) {
                    Ok(0) => {
                        c.phase = Phase::Dead;
                        return;
                    }
                    Ok(n) => c.written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        c.phase = Phase::Dead;
                        return;
                    }
                }
            }
            if !c.outbox.is_empty() {
                c.outbox.clear();
                c.written = 0;
                c.deadline = Instant::now() + self.config.request_timeout;
            }
            if c.phase == Phase::Closing {
                let _ = c.stream.shutdown(Shutdown::Write);
                c.inbox = Vec::new();
                c.phase = if c.peer_closed {
                    Phase::Dead
                } else {
                    Phase::Lingering { until: Instant::now() + LINGER, discarded: 0 }
                };
                continue;
            }
            // 2. Answer a request already buffered.
            match parse_head(&c.inbox, &self.config) {
                Parsed::Request(req, used) => {
                    c.served += 1;
                    let last = c.served >= self.config.max_requests_per_connection;
                    let keep_alive = req.keep_alive && !last;
                    let answer = self.answer(&req);
                    self.queue(c, answer, req.method == Method::Head, keep_alive);
                    c.inbox.drain(..used.min(c.inbox.len()));
                    if !keep_alive {
                        c.phase = Phase::Closing;
                    }
                    continue;
                }
                Parsed::Bad(status, why) => {
                    self.counters.bad_requests.fetch_add(1, Relaxed);
                    self.queue(c, Answer::error(status, why), false, false);
                    c.phase = Phase::Closing;
                    continue;
                }
                Parsed::Incomplete => {}
            }
            if c.peer_closed {
                // End of stream without a whole request (or after the last): done.
                c.phase = Phase::Dead;
                return;
            }
            // 3. Read (no more than one byte past the head limit: enough to refuse it).
            let room = (self.config.max_head_bytes + 1).saturating_sub(c.inbox.len()).clamp(1, buf.len());
            match c.stream.read(&mut buf[..room]) {
                Ok(0) => c.peer_closed = true,
                Ok(n) => c.inbox.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    c.phase = Phase::Dead;
                    return;
                }
            }
        }
    }

    fn queue(&self, c: &mut Conn, answer: Answer, head_only: bool, keep_alive: bool) {
        self.counters.requests.fetch_add(1, Relaxed);
        let mut out = String::with_capacity(256);
        let _ = write!(out, "HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
        let _ = write!(out, "Date: {}\r\n", http_date(SystemTime::now()));
        out.push_str("Server: lockfree-trading\r\n");
        let _ = write!(out, "Content-Type: {}\r\n", answer.content_type);
        let _ = write!(out, "Content-Length: {}\r\n", answer.body.len());
        out.push_str("Cache-Control: no-store\r\n");
        if answer.status == 405 {
            out.push_str("Allow: GET, HEAD\r\n");
        }
        out.push_str(if keep_alive { "Connection: keep-alive\r\n\r\n" } else { "Connection: close\r\n\r\n" });
        c.outbox.extend_from_slice(out.as_bytes());
        if !head_only {
            c.outbox.extend_from_slice(answer.body.as_bytes());
        }
        // The client has `request_timeout` to read it.
        c.deadline = Instant::now() + self.config.request_timeout;
    }

    fn answer(&self, req: &Head<'_>) -> Answer {
        let target = req.target;
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let route = match path {
            "/" => Route::Index,
            "/health" => Route::Health,
            "/symbols" => Route::Symbols,
            "/metrics" => Route::Metrics,
            p => match p.strip_prefix("/book/") {
                Some(s) if !s.is_empty() && !s.contains('/') => Route::Book(s),
                _ => return Answer::error(404, format!("no such resource: {}", truncate(path, 200))),
            },
        };
        if !matches!(req.method, Method::Get | Method::Head) {
            return Answer::error(405, "only GET and HEAD are supported".into());
        }
        match route {
            Route::Index => Answer::json(
                200,
                r#"{"endpoints":["/health","/symbols","/book/{symbol}?depth=N","/metrics"]}"#.into(),
            ),
            Route::Health => self.health(),
            Route::Symbols => self.symbols(),
            Route::Book(s) => self.book(s, query),
            Route::Metrics => Answer {
                status: 200,
                content_type: "text/plain; version=0.0.4; charset=utf-8",
                body: self.metrics(),
            },
        }
    }

    fn health(&self) -> Answer {
        let sys = &*self.system;
        let halted = sys.halted();
        let closed = sys.is_closed();
        let status = if closed {
            "stopping"
        } else if halted.is_empty() {
            "ok"
        } else {
            "degraded"
        };
        let mut j = String::with_capacity(256);
        j.push_str("{\"status\":");
        json_str(&mut j, status);
        let _ =
            write!(j, ",\"symbols\":{},\"workers\":{},\"halted\":[", sys.symbol_count(), sys.worker_count());
        for (i, (name, why)) in halted.iter().enumerate() {
            if i > 0 {
                j.push(',');
            }
            j.push_str("{\"symbol\":");
            json_str(&mut j, name);
            j.push_str(",\"reason\":");
            json_str(&mut j, why);
            j.push('}');
        }
        let uptime = sys.started_at().elapsed().unwrap_or_default().as_secs_f64();
        let _ = write!(
            j,
            "],\"uptime_seconds\":{uptime:.3},\"gateway\":{},\"version\":\"{}\"}}",
            self.gateway.is_some(),
            env!("CARGO_PKG_VERSION")
        );
        Answer::json(if status == "ok" { 200 } else { 503 }, j)
    }

    fn symbols(&self) -> Answer {
        let sys = &*self.system;
        let halted = sys.halted();
        let mut j = String::with_capacity(128 + 256 * sys.symbol_count());
        j.push_str("{\"symbols\":[");
        for i in 0..sys.symbol_count() {
            let (Some(name), Ok(book)) = (sys.symbol_name(i as u32), sys.book(i as u32)) else { continue };
            if i > 0 {
                j.push(',');
            }
            let scale = *book.scale();
            let (bid, ask) = book.top_of_book();
            j.push_str("{\"name\":");
            json_str(&mut j, name);
            let _ = write!(
                j,
                ",\"index\":{i},\"worker\":{},\"tick_size\":\"{}\",\"lot_size\":\"{}\",\"best_bid\":",
                sys.assignment().get(i).copied().unwrap_or(0),
                scale.tick_size,
                scale.lot_size
            );
            json_opt_decimal(&mut j, bid, scale.tick_size);
            j.push_str(",\"best_ask\":");
            json_opt_decimal(&mut j, ask, scale.tick_size);
            let _ = write!(j, ",\"resting_orders\":{},\"sequence\":{}", book.len(), book.sequence());
            if let Some(c) = sys.symbol_counters(i as u32) {
                let _ = write!(
                    j,
                    ",\"commands\":{},\"trades\":{},\"rejects\":{}",
                    c.commands.load(Relaxed),
                    c.trades.load(Relaxed),
                    c.rejects.load(Relaxed)
                );
            }
            j.push_str(",\"halted\":");
            match halted.iter().find(|(n, _)| n == name) {
                Some((_, why)) => json_str(&mut j, why),
                None => j.push_str("null"),
            }
            j.push('}');
        }
        j.push_str("]}");
        Answer::json(200, j)
    }

    fn book(&self, raw: &str, query: Option<&str>) -> Answer {
        let Some(name) = percent_decode(raw) else {
            return Answer::error(400, "the symbol is not valid percent-encoded UTF-8".into());
        };
        let mut depth = 10usize.min(self.config.max_depth);
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k == "depth" {
                match v.parse::<usize>() {
                    Ok(n) if (1..=self.config.max_depth).contains(&n) => depth = n,
                    _ => {
                        return Answer::error(
                            400,
                            format!(
                                "depth: {:?} is not a whole number from 1 to {}",
                                truncate(v, 40),
                                self.config.max_depth
                            ),
                        )
                    }
                }
            }
        }
        let sys = &*self.system;
        let Ok(index) = sys.symbol_index(&name) else {
            return Answer::error(404, format!("unknown symbol {:?}", truncate(&name, 100)));
        };
        let Ok(book) = sys.book(index) else {
            return Answer::error(404, format!("unknown symbol {:?}", truncate(&name, 100)));
        };
        let scale = *book.scale();
        let sequence = book.sequence();
        let d = book.depth(depth);
        let mut j = String::with_capacity(128 + 64 * (d.bids.len() + d.asks.len()));
        j.push_str("{\"symbol\":");
        json_str(&mut j, &name);
        let _ = write!(j, ",\"sequence\":{sequence},\"depth\":{depth}");
        for (key, side) in [("bids", &d.bids), ("asks", &d.asks)] {
            let _ = write!(j, ",\"{key}\":[");
            for (k, l) in side.iter().enumerate() {
                if k > 0 {
                    j.push(',');
                }
                let _ = write!(
                    j,
                    "{{\"price\":\"{}\",\"quantity\":\"{}\",\"order_count\":{}}}",
                    decimal_text(l.price, scale.tick_size),
                    decimal_text(l.quantity, scale.lot_size),
                    l.order_count
                );
            }
            j.push(']');
        }
        j.push('}');
        Answer::json(200, j)
    }

    /// The Prometheus text exposition (format 0.0.4).
    fn metrics(&self) -> String {
        let sys = &*self.system;
        let n = sys.symbol_count();
        let mut m = Metrics { out: String::with_capacity(4096 + 1024 * n) };
        let names: Vec<String> =
            (0..n).map(|i| label_value(sys.symbol_name(i as u32).unwrap_or(""))).collect();
        let books: Vec<_> = (0..n).map(|i| sys.book(i as u32).ok()).collect();
        let halted = sys.halted();

        m.family("lft_build_info", "gauge", "Always 1; the version in a label.");
        let _ = writeln!(m.out, "lft_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        m.family(
            "lft_start_time_seconds",
            "gauge",
            "When the trading system started, in seconds since the Unix epoch.",
        );
        let start = sys.started_at().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let _ = writeln!(m.out, "lft_start_time_seconds {}", float(start));

        // Per symbol.
        m.family(
            "lft_symbol_info",
            "gauge",
            "Always 1; the symbol's worker, tick size and lot size in labels.",
        );
        for (i, name) in names.iter().enumerate() {
            if let Some(b) = &books[i] {
                let _ = writeln!(
                    m.out,
                    "lft_symbol_info{{symbol=\"{name}\",worker=\"{}\",tick_size=\"{}\",lot_size=\"{}\"}} 1",
                    sys.assignment().get(i).copied().unwrap_or(0),
                    b.scale().tick_size,
                    b.scale().lot_size
                );
            }
        }
        type Pick = fn(&lft_engine::system::SymbolCounters) -> &AtomicU64;
        let per_symbol: [(&str, &str, Pick); 3] = [
            (
                "lft_symbol_commands_total",
                "Commands the symbol's worker ran (a batch counts once; refused ones included; statistics period ticks not).",
                |c| &c.commands,
            ),
            ("lft_symbol_trades_total", "Trades.", |c| &c.trades),
            (
                "lft_symbol_rejects_total",
                "Commands the book refused plus orders answered REJECTED (refusals before the queue not included).",
                |c| &c.rejects,
            ),
        ];
        for (family, help, pick) in per_symbol {
            m.family(family, "counter", help);
            for (i, name) in names.iter().enumerate() {
                if let Some(c) = sys.symbol_counters(i as u32) {
                    let _ = writeln!(m.out, "{family}{{symbol=\"{name}\"}} {}", pick(c).load(Relaxed));
                }
            }
        }
        m.family("lft_symbol_resting_orders", "gauge", "Orders resting in the book.");
        for (i, name) in names.iter().enumerate() {
            if let Some(b) = &books[i] {
                let _ = writeln!(m.out, "lft_symbol_resting_orders{{symbol=\"{name}\"}} {}", b.len());
            }
        }
        let tops: Vec<_> =
            books.iter().map(|b| b.as_ref().map(|b| (b.top_of_book(), b.scale().tick_size))).collect();
        for (k, (family, help)) in [
            ("lft_symbol_best_bid", "Highest bid price (no sample while the side is empty)."),
            ("lft_symbol_best_ask", "Lowest ask price (no sample while the side is empty)."),
        ]
        .into_iter()
        .enumerate()
        {
            m.family(family, "gauge", help);
            for (i, name) in names.iter().enumerate() {
                if let Some(((bid, ask), tick)) = tops[i] {
                    if let Some(p) = if k == 0 { bid } else { ask } {
                        let _ = writeln!(m.out, "{family}{{symbol=\"{name}\"}} {}", decimal_float(p, tick));
                    }
                }
            }
        }
        m.family("lft_symbol_halted", "gauge", "1 if a worker failure halted the symbol.");
        for (i, name) in names.iter().enumerate() {
            let raw = sys.symbol_name(i as u32).unwrap_or("");
            let h = u8::from(halted.iter().any(|(n, _)| n == raw));
            let _ = writeln!(m.out, "lft_symbol_halted{{symbol=\"{name}\"}} {h}");
        }

        // Per worker.
        let workers = sys.worker_stats();
        m.family("lft_worker_queue_depth", "gauge", "Commands waiting in the worker's queue (approximate).");
        for (w, s) in workers.iter().enumerate() {
            let _ = writeln!(m.out, "lft_worker_queue_depth{{worker=\"{w}\"}} {}", s.queued);
        }
        for (family, help, pick) in [
            (
                "lft_worker_entries_processed_total",
                "Queue entries the worker ran: an order, a cancel, a whole batch or command list, a query: one each.",
                (|s| s.processed) as fn(&lft_engine::system::WorkerStats) -> u64,
            ),
            ("lft_worker_events_published_total", "Events published on the worker's broadcast ring.", |s| {
                s.events_published
            }),
            (
                "lft_worker_events_lost_total",
                "Events subscribers missed on the worker's ring (they fell more than a ring behind).",
                |s| s.events_lost,
            ),
        ] {
            m.family(family, "counter", help);
            for (w, s) in workers.iter().enumerate() {
                let _ = writeln!(m.out, "{family}{{worker=\"{w}\"}} {}", pick(s));
            }
        }
        if sys.statistics_config().is_some() {
            m.family(
                "lft_command_latency_seconds",
                "histogram",
                "Per queue entry that ran commands (statistics period-close ticks included): from enqueue to the worker having run it (before the journal releases the reply). Measured only with statistics enabled.",
            );
            for (w, h) in sys.latency_histograms().iter().enumerate() {
                let s = h.read();
                for (k, count) in s.cumulative.iter().enumerate() {
                    let le =
                        LATENCY_BUCKETS_NS.get(k).map_or_else(|| "+Inf".to_string(), |&ns| seconds_text(ns));
                    let _ = writeln!(
                        m.out,
                        "lft_command_latency_seconds_bucket{{worker=\"{w}\",le=\"{le}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    m.out,
                    "lft_command_latency_seconds_sum{{worker=\"{w}\"}} {}",
                    float(s.sum_ns as f64 / 1e9)
                );
                let _ = writeln!(m.out, "lft_command_latency_seconds_count{{worker=\"{w}\"}} {}", s.count);
            }
        }

        // Journal, snapshots, statistics.
        let journal = sys.journal_counters();
        if !journal.is_empty() {
            type J = fn(&lft_engine::system::JournalCounters) -> f64;
            let families: [(&str, &str, &str, J); 6] = [
                ("lft_journal_written_bytes_total", "counter", "Bytes appended to journal segments.", |c| {
                    c.bytes_written.load(Relaxed) as f64
                }),
                ("lft_journal_records_total", "counter", "Records appended to the journal.", |c| {
                    c.records.load(Relaxed) as f64
                }),
                (
                    "lft_journal_writes_total",
                    "counter",
                    "write calls of the journal thread (records per write: the group-commit factor).",
                    |c| c.writes.load(Relaxed) as f64,
                ),
                ("lft_journal_syncs_total", "counter", "fdatasync calls of the journal thread.", |c| {
                    c.syncs.load(Relaxed) as f64
                }),
                ("lft_journal_sync_seconds_total", "counter", "Time spent in those fdatasync calls.", |c| {
                    c.sync_ns.load(Relaxed) as f64 / 1e9
                }),
                ("lft_journal_sync_max_seconds", "gauge", "Longest fdatasync call so far.", |c| {
                    c.sync_max_ns.load(Relaxed) as f64 / 1e9
                }),
            ];
            for (family, kind, help, pick) in families {
                m.family(family, kind, help);
                for (w, c) in journal.iter().enumerate() {
                    let _ = writeln!(m.out, "{family}{{worker=\"{w}\"}} {}", float(pick(c)));
                }
            }
        }
        if let Some(s) = sys.snapshot_counters() {
            for (family, kind, help, value) in [
                (
                    "lft_snapshot_files_total",
                    "counter",
                    "Snapshot files written.",
                    s.written.load(Relaxed) as f64,
                ),
                (
                    "lft_snapshot_written_bytes_total",
                    "counter",
                    "Bytes of snapshot files written.",
                    s.bytes.load(Relaxed) as f64,
                ),
                (
                    "lft_snapshot_capture_max_seconds",
                    "gauge",
                    "Longest pause of a worker capturing a book for a snapshot.",
                    s.capture_max_ns.load(Relaxed) as f64 / 1e9,
                ),
                (
                    "lft_snapshot_write_seconds_total",
                    "counter",
                    "Time the snapshot thread spent encoding, compressing, writing and syncing files.",
                    s.write_ns.load(Relaxed) as f64 / 1e9,
                ),
                (
                    "lft_snapshot_segments_deleted_total",
                    "counter",
                    "Journal segments deleted after snapshots passed them.",
                    s.segments_deleted.load(Relaxed) as f64,
                ),
            ] {
                m.family(family, kind, help);
                let _ = writeln!(m.out, "{family} {}", float(value));
            }
        }
        m.family(
            "lft_statistics_rows_dropped_total",
            "counter",
            "Statistics rows dropped because their queue was full (0 without statistics).",
        );
        let _ = writeln!(m.out, "lft_statistics_rows_dropped_total {}", sys.statistics_rows_dropped());

        // The FIX gateway.
        if let Some(g) = &self.gateway {
            for (family, help, value) in [
                ("lft_fix_connections_total", "FIX connections accepted.", &g.connections),
                (
                    "lft_fix_refused_connections_total",
                    "FIX connections closed at once (over max_connections).",
                    &g.refused_connections,
                ),
                ("lft_fix_logons_total", "FIX Logons accepted.", &g.logons),
                ("lft_fix_messages_received_total", "FIX messages received whole.", &g.messages_in),
                ("lft_fix_messages_sent_total", "FIX messages sent.", &g.messages_out),
                ("lft_fix_garbled_total", "Garbled FIX frames ignored (bad checksum or length).", &g.garbled),
                (
                    "lft_fix_dropped_connections_total",
                    "FIX connections closed for bad input, a limit, a refused Logon or a timeout.",
                    &g.dropped,
                ),
                ("lft_fix_throttled_total", "FIX sessions logged out for sending too fast.", &g.throttled),
            ] {
                m.family(family, "counter", help);
                let _ = writeln!(m.out, "{family} {}", value.load(Relaxed));
            }
            let sessions: Vec<_> = g
                .sessions
                .iter()
                .map(|s| {
                    (
                        format!(
                            "sender_comp_id=\"{}\",target_comp_id=\"{}\"",
                            label_value(&s.sender_comp_id),
                            label_value(&s.target_comp_id)
                        ),
                        s,
                    )
                })
                .collect();
            m.family("lft_fix_session_logged_on", "gauge", "1 while the FIX session is logged on.");
            for (labels, s) in &sessions {
                let _ = writeln!(
                    m.out,
                    "lft_fix_session_logged_on{{{labels}}} {}",
                    u8::from(s.logged_on.load(Relaxed))
                );
            }
            type S = fn(&crate::server::SessionCounters) -> &AtomicU64;
            let families: [(&str, &str, S); 5] = [
                ("lft_fix_session_logons_total", "Logons the FIX session made.", |s| &s.logons),
                (
                    "lft_fix_session_messages_received_total",
                    "FIX messages received whole from the session.",
                    |s| &s.messages_in,
                ),
                ("lft_fix_session_messages_sent_total", "FIX messages sent to the session.", |s| {
                    &s.messages_out
                }),
                (
                    "lft_fix_session_rejects_total",
                    "Rejects (3) and BusinessMessageRejects (j) sent to the session.",
                    |s| &s.rejects,
                ),
                (
                    "lft_fix_session_execution_reports_total",
                    "ExecutionReports (8) sent to the session.",
                    |s| &s.execution_reports,
                ),
            ];
            for (family, help, pick) in families {
                m.family(family, "counter", help);
                for (labels, s) in &sessions {
                    let _ = writeln!(m.out, "{family}{{{labels}}} {}", pick(s).load(Relaxed));
                }
            }
        }

        // This server.
        let a = &self.counters;
        for (family, help, value) in [
            ("lft_admin_connections_total", "HTTP admin connections accepted.", &a.connections),
            (
                "lft_admin_refused_connections_total",
                "HTTP admin connections closed at once (over max_connections).",
                &a.refused_connections,
            ),
            ("lft_admin_requests_total", "HTTP admin requests answered (this scrape not included).", &a.requests),
            ("lft_admin_bad_requests_total", "HTTP admin request heads refused as malformed (400), with a body (413), over a limit (431) or of another HTTP version (505).", &a.bad_requests),
            (
                "lft_admin_timeouts_total",
                "HTTP admin connections closed for not sending a request head or not reading a response in time.",
                &a.timeouts,
            ),
        ] {
            m.family(family, "counter", help);
            let _ = writeln!(m.out, "{family} {}", value.load(Relaxed));
        }
        m.out
    }
}

struct Metrics {
    out: String,
}

impl Metrics {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = write!(self.out, "# HELP {name} ");
        for ch in help.chars() {
            match ch {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        let _ = write!(self.out, "\n# TYPE {name} {kind}\n");
    }
}

enum Route<'a> {
    Index,
    Health,
    Symbols,
    Metrics,
    Book(&'a str),
}

struct Answer {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Answer {
    fn json(status: u16, body: String) -> Answer {
        Answer { status, content_type: "application/json", body }
    }

    fn error(status: u16, why: String) -> Answer {
        let mut body = String::with_capacity(why.len() + 16);
        body.push_str("{\"error\":");
        json_str(&mut body, &why);
        body.push('}');
        Answer::json(status, body)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Other,
}

/// A request head, checked.
#[derive(Debug)]
struct Head<'a> {
    method: Method,
    /// The origin-form target (`/path?query`).
    target: &'a str,
    keep_alive: bool,
}

#[derive(Debug)]
enum Parsed<'a> {
    /// A whole, valid head, and the bytes it took (leading empty lines included).
    Request(Head<'a>, usize),
    /// Refuse it with this status and close.
    Bad(u16, String),
    Incomplete,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parse one request head from the start of `buf`.
fn parse_head<'a>(buf: &'a [u8], config: &AdminConfig) -> Parsed<'a> {
    // Empty lines before a request line are ignored (RFC 9112, 2.2).
    let skip = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
    let rest = &buf[skip..];
    // The head ends at the first empty line (CRLF CRLF, or bare LFs).
    let end = rest.windows(2).position(|w| w == b"\n\n").map(|p| (p, p + 2));
    let end_crlf = rest.windows(3).position(|w| w == b"\n\r\n").map(|p| (p, p + 3));
    let end = match (end, end_crlf) {
        (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    let Some((last_lf, after)) = end else {
        // Not an HTTP request at all (TLS, binary): refused now, not at the timeout.
        // (The request line so far: printable ASCII; a CR only last, its LF may come next.)
        let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
            return Parsed::Bad(400, "not an HTTP request".into());
        }
        return if buf.len() > config.max_head_bytes {
            Parsed::Bad(431, format!("the request head is longer than {} bytes", config.max_head_bytes))
        } else {
            Parsed::Incomplete
        };
    };
    if skip + after > config.max_head_bytes {
        return Parsed::Bad(431, format!("the request head is longer than {} bytes", config.max_head_bytes));
    }
    let head = &rest[..last_lf];
    let Ok(head) = std::str::from_utf8(head) else {
        return Parsed::Bad(400, "the request head is not UTF-8 text".into());
    };
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Bad(400, "malformed request line".into());
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Parsed::Bad(400, "malformed method".into());
    }
    if target.is_empty() || !target.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Parsed::Bad(400, "malformed request target".into());
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        v if v.len() == 8
            && v.starts_with("HTTP/")
            && v.as_bytes()[5].is_ascii_digit()
            && v.as_bytes()[6] == b'.'
            && v.as_bytes()[7].is_ascii_digit() =>
        {
            return Parsed::Bad(505, "only HTTP/1.0 and HTTP/1.1 are supported".into())
        }
        _ => return Parsed::Bad(400, "malformed HTTP version".into()),
    };
    // Absolute form (`http://host/path`) is taken as its path.
    let target = if target.starts_with('/') {
        target
    } else if let Some(rest) = target.strip_prefix("http://").or_else(|| target.strip_prefix("https://")) {
        match rest.find('/') {
            Some(p) => &rest[p..],
            None => "/",
        }
    } else {
        return Parsed::Bad(400, "the request target must be a path".into());
    };
    let mut headers = 0usize;
    let mut hosts = 0usize;
    let mut content_length: Option<u64> = None;
    let mut close = false;
    let mut keep_alive_token = false;
    for line in lines {
        headers += 1;
        if headers > config.max_headers {
            return Parsed::Bad(431, format!("more than {} header fields", config.max_headers));
        }
        if line.starts_with([' ', '\t']) {
            return Parsed::Bad(400, "obsolete line folding is not accepted".into());
        }
        let Some((name, value)) = line.split_once(':') else {
            return Parsed::Bad(400, "a header field without a colon".into());
        };
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Parsed::Bad(400, "malformed header field name".into());
        }
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Parsed::Bad(400, "a control character in a header field value".into());
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case("content-length") {
            let Some(n) =
                value.bytes().all(|b| b.is_ascii_digit()).then(|| value.parse::<u64>().ok()).flatten()
            else {
                return Parsed::Bad(400, "malformed Content-Length".into());
            };
            if content_length.is_some_and(|m| m != n) {
                return Parsed::Bad(400, "conflicting Content-Length fields".into());
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Bad(413, "request bodies are not accepted".into());
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(|t| t.trim_matches([' ', '\t'])) {
                close |= token.eq_ignore_ascii_case("close");
                keep_alive_token |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    if content_length.is_some_and(|n| n > 0) {
        return Parsed::Bad(413, "request bodies are not accepted".into());
    }
    if !http10 && hosts != 1 {
        return Parsed::Bad(400, "an HTTP/1.1 request needs exactly one Host field".into());
    }
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    let keep_alive = !close && (!http10 || keep_alive_token);
    Parsed::Request(Head { method, target, keep_alive }, skip + after)
}

/// `%XX` decoded (a `+` stays a `+`); `None` if an escape is malformed or the result is not
/// UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// At most `n` characters of `s`.
fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A JSON string literal.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_opt_decimal(out: &mut String, n: Option<i64>, step: Decimal) {
    match n {
        Some(n) => {
            out.push('"');
            out.push_str(&decimal_text(n, step));
            out.push('"');
        }
        None => out.push_str("null"),
    }
}

/// A Prometheus label value: backslash, double quote and line feed escaped.
fn label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `n * step` exactly, with the step's decimal places (`10030` at 0.01: `100.30`), for any
/// `n` and step: digit-string multiplication, no overflow.
pub fn decimal_text(n: i64, step: Decimal) -> String {
    let negative = (n < 0) != step.is_sign_negative() && n != 0 && !step.is_zero();
    let a = n.unsigned_abs().to_string();
    let b = step.mantissa().unsigned_abs().to_string();
    // Schoolbook multiplication of the two digit strings.
    let (x, y): (Vec<u32>, Vec<u32>) = (
        a.bytes().rev().map(|d| u32::from(d - b'0')).collect(),
        b.bytes().rev().map(|d| u32::from(d - b'0')).collect(),
    );
    let mut digits = vec![0u32; x.len() + y.len()];
    for (i, &dx) in x.iter().enumerate() {
        let mut carry = 0;
        for (j, &dy) in y.iter().enumerate() {
            let t = digits[i + j] + dx * dy + carry;
            digits[i + j] = t % 10;
            carry = t / 10;
        }
        let mut k = i + y.len();
        while carry > 0 {
            let t = digits[k] + carry;
            digits[k] = t % 10;
            carry = t / 10;
            k += 1;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    let scale = step.scale() as usize;
    while digits.len() <= scale {
        digits.push(0);
    }
    let mut s = String::with_capacity(digits.len() + 2);
    if negative {
        s.push('-');
    }
    for (k, d) in digits.iter().enumerate().rev() {
        s.push(char::from(b'0' + *d as u8));
        if k == scale && scale > 0 {
            s.push('.');
        }
    }
    s
}

/// `n * step` as the nearest float, in Prometheus text.
fn decimal_float(n: i64, step: Decimal) -> String {
    float(decimal_text(n, step).parse::<f64>().unwrap_or(f64::NAN))
}

/// A float as Prometheus text (`NaN`, `+Inf`, `-Inf`, or the shortest exact repr).
fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Nanoseconds as seconds, exactly (`100` -> `0.0000001`, `2_000_000_000` -> `2`).
fn seconds_text(ns: u64) -> String {
    let (s, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        return s.to_string();
    }
    let f = format!("{frac:09}");
    format!("{s}.{}", f.trim_end_matches('0'))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as HTTP's Date field wants.
fn http_date(t: SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = crate::session::civil_date(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AdminConfig {
        AdminConfig { max_head_bytes: 256, max_headers: 4, ..AdminConfig::default() }
    }

    #[test]
    fn dates_are_imf_fixdates() {
        let t = |s| http_date(std::time::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(t(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(t(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(t(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(t(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
    }

    #[test]
    fn decimals_are_exact() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(decimal_text(10030, d("0.01")), "100.30");
        assert_eq!(decimal_text(5, d("0.01")), "0.05");
        assert_eq!(decimal_text(0, d("0.001")), "0.000");
        assert_eq!(decimal_text(-7, d("0.5")), "-3.5");
        assert_eq!(decimal_text(3, d("25")), "75");
        assert_eq!(decimal_text(i64::MAX, d("0.01")), "92233720368547758.07");
        assert_eq!(decimal_text(i64::MIN, d("1")), "-9223372036854775808");
        // Against u128 arithmetic, at a step with many digits.
        let (n, mantissa) = (i64::MAX, 1_234_567_890_123_456_789u128);
        let product = (n as u128 * mantissa).to_string();
        let (int, frac) = product.split_at(product.len() - 9);
        assert_eq!(decimal_text(n, d("1234567890.123456789")), format!("{int}.{frac}"));
        assert_eq!(seconds_text(100), "0.0000001");
        assert_eq!(seconds_text(2_500_000_000), "2.5");
        assert_eq!(seconds_text(10_000_000_000), "10");
    }

    #[test]
    fn heads_parse_and_refuse() {
        let c = cfg();
        let ok = |s: &str| match parse_head(s.as_bytes(), &c) {
            Parsed::Request(h, n) => (h.method, h.target.to_string(), h.keep_alive, n),
            other => panic!("{s:?}: {other:?}"),
        };
        let bad = |s: &[u8]| match parse_head(s, &c) {
            Parsed::Bad(code, _) => code,
            other => panic!("{s:?}: {other:?}"),
        };
        assert_eq!(ok("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), (Method::Get, "/health".into(), true, 33));
        assert!(!ok("\r\nHEAD /x HTTP/1.0\n\n").2);
        assert!(ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").2);
        assert!(!ok("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").2);
        assert_eq!(ok("GET http://h:1/metrics?x HTTP/1.1\r\nHost: x\r\n\r\n").1, "/metrics?x");
        assert_eq!(ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").0, Method::Other);
        assert!(matches!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n", &c), Parsed::Incomplete));
        assert_eq!(bad(b"GET / HTTP/1.1\r\n\r\n"), 400); // no Host
        assert_eq!(bad(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
        assert_eq!(bad(b"GET /  HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(bad(b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), 400);
        assert_eq!(bad(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
        assert_eq!(bad(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"), 413);
        assert_eq!(bad(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), 413);
        assert_eq!(bad(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), 400);
        assert_eq!(bad(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nHost: x\r\n\r\n"), 431);
        assert_eq!(bad(&[b'a'; 300]), 431);
        assert_eq!(bad(b"\xff\xfe / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(bad(b"\x16\x03\x01\x02\x00"), 400); // a TLS hello: refused before any end of head
        assert!(matches!(parse_head(b"GET / HTTP/1.1\r", &c), Parsed::Incomplete));
        assert_eq!(bad(b"GET / HTTP/1.1\r\nHost: \x01\r\n\r\n"), 400);
    }

    #[test]
    fn no_bytes_panic_the_parser() {
        let c = cfg();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..2000usize {
            let mut v = Vec::with_capacity(len % 300);
            for _ in 0..len % 300 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let alphabet = b"GET /HTP1.\r\n:%?=&HostContent-Length0123456789 \t\x00\xff";
                v.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = parse_head(&v, &c);
            let _ = percent_decode(std::str::from_utf8(&v).unwrap_or("%"));
        }
    }
}
