//! The acceptor: one thread runs every connection through `mio` (epoll on Linux): it reads,
//! frames ([`crate::codec`]), runs the session layer ([`crate::session`]) and order entry
//! ([`crate::entry`]), and writes what they answer. Nothing here takes a lock; the engine is
//! reached through the system's queues, and order entry blocks this thread until each
//! command's reply comes back from its worker.
//!
//! Limits: connections, bytes per message (a longer declared length closes the connection
//! before anything is buffered for it), bytes buffered per connection, time to Logon (a
//! connection that has not logged on in time is closed: slowloris), messages per second per
//! session (beyond: a Logout). Every refusal is counted in [`Counters`].

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lft_engine::system::TradingSystem;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::codec::{decode, Decoded, Limits};
use crate::entry::OrderEntry;
use crate::session::{Action, Session, SessionConfig, State};

/// How the acceptor is configured.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Where to listen (127.0.0.1 unless configured otherwise).
    pub listen: SocketAddr,
    /// The sessions that may log on.
    pub sessions: Vec<SessionConfig>,
    /// Message limits.
    pub limits: Limits,
    /// Open connections at most (more are accepted and closed at once).
    pub max_connections: usize,
    /// A connection must log on within this.
    pub logon_timeout: Duration,
    /// Messages per second one session may send; beyond, it is logged out.
    pub max_messages_per_second: u32,
    /// Where each session's sequence numbers are kept across restarts (one small file per
    /// session, rewritten through a rename at most every 100 ms, at every disconnect and at
    /// stop); `None`: every daemon start begins at 1 and 1.
    pub state_directory: Option<std::path::PathBuf>,
}

/// The file of one session's sequence numbers.
fn seq_file(dir: &std::path::Path, s: &SessionConfig) -> std::path::PathBuf {
    let clean = |x: &str| {
        x.chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect::<String>()
    };
    dir.join(format!("{}-{}.seq", clean(&s.their_comp_id), clean(&s.our_comp_id)))
}

/// `(next inbound, next outbound)` stored for a session, or (1, 1).
pub fn load_sequence_numbers(dir: Option<&std::path::Path>, s: &SessionConfig) -> (u64, u64) {
    let Some(dir) = dir else { return (1, 1) };
    let text = std::fs::read_to_string(seq_file(dir, s)).unwrap_or_default();
    let mut parts = text.split_whitespace().map(|p| p.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) if a > 0 && b > 0 => (a, b),
        _ => (1, 1),
    }
}

fn store_sequence_numbers(dir: Option<&std::path::Path>, s: &SessionConfig, numbers: (u64, u64)) {
    let Some(dir) = dir else { return };
    let path = seq_file(dir, s);
    let tmp = path.with_extension("seq.tmp");
    if std::fs::write(&tmp, format!("{} {}\n", numbers.0, numbers.1)).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
}

/// What the acceptor counted.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections refused (over the limit).
    pub refused_connections: AtomicU64,
    /// Logons accepted.
    pub logons: AtomicU64,
    /// Messages received whole.
    pub messages_in: AtomicU64,
    /// Messages sent.
    pub messages_out: AtomicU64,
    /// Garbled frames (bad checksum, bad length) ignored.
    pub garbled: AtomicU64,
    /// Connections closed for bad input (not FIX, over a limit, a failed Logon, a timeout).
    pub dropped: AtomicU64,
    /// Sessions logged out for sending too fast.
    pub throttled: AtomicU64,
    /// Per configured session, in configuration order.
    pub sessions: Vec<SessionCounters>,
}

/// What one configured session did (kept across its reconnects).
#[derive(Debug, Default)]
pub struct SessionCounters {
    /// Its SenderCompID (theirs).
    pub sender_comp_id: String,
    /// Its TargetCompID (ours).
    pub target_comp_id: String,
    /// Whether it is logged on now.
    pub logged_on: AtomicBool,
    /// Logons accepted.
    pub logons: AtomicU64,
    /// Messages received whole.
    pub messages_in: AtomicU64,
    /// Messages sent to it.
    pub messages_out: AtomicU64,
    /// Session-level Rejects (3) and BusinessMessageRejects (j) sent to it.
    pub rejects: AtomicU64,
    /// ExecutionReports (8) sent to it.
    pub execution_reports: AtomicU64,
}

impl SessionCounters {
    /// Count one outgoing message by its MsgType.
    pub(crate) fn sent(&self, bytes: &[u8]) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
        match msg_type_of(bytes) {
            b"8" => {
                self.execution_reports.fetch_add(1, Ordering::Relaxed);
            }
            b"3" | b"j" => {
                self.rejects.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// The MsgType of an encoded message (its third field: `8=...|9=...|35=X|`).
fn msg_type_of(bytes: &[u8]) -> &[u8] {
    let mut fields = bytes.split(|&b| b == 1);
    let _ = (fields.next(), fields.next());
    fields.next().and_then(|f| f.strip_prefix(b"35=")).unwrap_or_default()
}

/// A running acceptor; dropping it (or [`Gateway::stop`]) logs every session out and stops.
pub struct Gateway {
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The address it listens on (useful with port 0).
    pub local_addr: SocketAddr,
    /// Its counters.
    pub counters: Arc<Counters>,
}

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Bytes a connection may have buffered to read, beyond one message.
const SLACK: usize = 64 * 1024;
/// Bytes a connection may have queued to write: a client that reads none of its reports is
/// dropped rather than buffered without end (market data stops long before this, see
/// [`crate::market_data::HIGH_WATER`]).
const MAX_UNSENT: usize = 16 << 20;

struct Conn {
    stream: TcpStream,
    inbox: Vec<u8>,
    outbox: Vec<u8>,
    opened: Instant,
    /// The configured session it logged on as.
    session: Option<usize>,
    closing: bool,
    window: (Instant, u32),
}

impl Gateway {
    /// Bind and start the acceptor thread on `system`.
    pub fn start(system: Arc<TradingSystem>, config: GatewayConfig) -> std::io::Result<Gateway> {
        let mut listener = TcpListener::bind(config.listen)?;
        let local_addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters {
            sessions: config
                .sessions
                .iter()
                .map(|s| SessionCounters {
                    sender_comp_id: s.their_comp_id.clone(),
                    target_comp_id: s.our_comp_id.clone(),
                    ..SessionCounters::default()
                })
                .collect(),
            ..Counters::default()
        });
        let (stop_t, counters_t) = (Arc::clone(&stop), Arc::clone(&counters));
        let thread = std::thread::Builder::new()
            .name("lft-gateway".into())
            .spawn(move || run(poll, listener, system, config, stop_t, counters_t))?;
        Ok(Gateway { stop, waker, thread: Some(thread), local_addr, counters })
    }

    /// Stop accepting, log every session out, flush what can be written, and join.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn run(
    mut poll: Poll,
    listener: TcpListener,
    system: Arc<TradingSystem>,
    config: GatewayConfig,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
) {
    let mut events = Events::with_capacity(1024);
    let mut conns: HashMap<Token, Conn> = HashMap::new();
    let mut next_token = 2usize;
    let start = now_ms();
    let state_dir = config.state_directory.as_deref();
    if let Some(dir) = state_dir {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut sessions: Vec<Session> = config
        .sessions
        .iter()
        .map(|c| {
            let (next_in, next_out) = load_sequence_numbers(state_dir, c);
            Session::new(c.clone(), next_in, next_out, start)
        })
        .collect();
    let mut stored: Vec<(u64, u64)> = sessions.iter().map(Session::sequence_numbers).collect();
    let mut bound: Vec<Option<Token>> = vec![None; sessions.len()];
    let mut entry = OrderEntry::new(&system, sessions.len());
    let mut last_timer = Instant::now();
    let mut routed: Vec<(usize, Vec<u8>)> = Vec::new();
    // Connections with bytes left unread last round (edge-triggered: no new event for them).
    let mut backlog: Vec<Token> = Vec::new();
    loop {
        if stop.load(Ordering::Acquire) {
            // Answer what is in flight, Logout every logged-on session, write what can be
            // written, close.
            let mut outs = Vec::new();
            entry.drain(&mut sessions, now_ms(), &mut outs);
            routed.extend(outs);
            flush_routed(&mut routed, &bound, &mut conns, &counters);
            for c in conns.values_mut() {
                if let Some(sid) = c.session {
                    if sessions[sid].state() == State::Active {
                        let bytes = sessions[sid].outgoing("5", now_ms(), |b| {
                            b.field(58, "the gateway is shutting down");
                        });
                        queue_out(c, &counters, &bytes);
                    }
                }
                // Best effort: the socket is non-blocking, a client that does not read loses it.
                let _ = c.stream.write_all(&c.outbox);
            }
            for (s, c) in sessions.iter().zip(&config.sessions) {
                store_sequence_numbers(state_dir, c, s.sequence_numbers());
            }
            return;
        }
        // While it has orders or subscribers the gateway follows the ring closely.
        let timeout = if !backlog.is_empty() {
            Duration::ZERO
        } else if entry.wants_feed() {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(100)
        };
        if poll.poll(&mut events, Some(timeout)).is_err() {
            continue;
        }
        let mut readable: Vec<Token> = std::mem::take(&mut backlog);
        for event in events.iter() {
            match event.token() {
                WAKER => {}
                LISTENER => loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            // Reports go out as soon as they are written (no Nagle delay).
                            let _ = stream.set_nodelay(true);
                            if conns.len() >= config.max_connections {
                                counters.refused_connections.fetch_add(1, Ordering::Relaxed);
                                continue; // dropped: closed at once
                            }
                            let token = Token(next_token);
                            next_token += 1;
                            if poll
                                .registry()
                                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                                .is_ok()
                            {
                                counters.connections.fetch_add(1, Ordering::Relaxed);
                                conns.insert(
                                    token,
                                    Conn {
                                        stream,
                                        inbox: Vec::new(),
                                        outbox: Vec::new(),
                                        opened: Instant::now(),
                                        session: None,
                                        closing: false,
                                        window: (Instant::now(), 0),
                                    },
                                );
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => break,
                    }
                },
                token => {
                    if event.is_readable() && !readable.contains(&token) {
                        readable.push(token);
                    }
                }
            }
        }
        for token in readable {
            if let Some(c) = conns.get_mut(&token) {
                let more = read_and_handle(
                    c,
                    token,
                    &config,
                    &mut sessions,
                    &mut bound,
                    &mut entry,
                    &counters,
                    &mut routed,
                );
                if more {
                    backlog.push(token);
                }
            }
            // What it produced for other sessions (fills of their resting orders).
            flush_routed(&mut routed, &bound, &mut conns, &counters);
        }
        // The replies of the orders read this round, what other commands did to the
        // sessions' orders, then market data.
        let now = now_ms();
        let mut outs = Vec::new();
        entry.drain(&mut sessions, now, &mut outs);
        routed.append(&mut outs);
        flush_routed(&mut routed, &bound, &mut conns, &counters);
        let unsent: Vec<usize> = bound
            .iter()
            .map(|t| t.and_then(|t| conns.get(&t)).map_or(usize::MAX, |c| c.outbox.len()))
            .collect();
        entry.publish_market_data(&mut sessions, now, |sid| unsent[sid], &mut outs);
        routed.extend(outs);
        flush_routed(&mut routed, &bound, &mut conns, &counters);
        if last_timer.elapsed() >= Duration::from_millis(100) {
            last_timer = Instant::now();
            let now = now_ms();
            for (i, s) in sessions.iter().enumerate() {
                if s.sequence_numbers() != stored[i] {
                    stored[i] = s.sequence_numbers();
                    store_sequence_numbers(state_dir, &config.sessions[i], stored[i]);
                }
            }
            for (sid, s) in sessions.iter_mut().enumerate() {
                if let Some(token) = bound[sid] {
                    let actions = s.on_timer(now);
                    if let Some(c) = conns.get_mut(&token) {
                        apply(c, actions, &counters);
                    }
                }
            }
            for c in conns.values_mut() {
                if c.session.is_none() && c.opened.elapsed() >= config.logon_timeout && !c.closing {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    c.closing = true;
                }
            }
        }
        // Write, and close what is done.
        let mut closed = Vec::new();
        for (token, c) in conns.iter_mut() {
            while !c.outbox.is_empty() {
                match c.stream.write(&c.outbox) {
                    Ok(0) => break,
                    Ok(n) => {
                        c.outbox.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        c.closing = true;
                        c.outbox.clear();
                    }
                }
            }
            if c.outbox.len() > MAX_UNSENT.max(config.limits.max_message_bytes * 4) {
                // A client that does not read its reports: drop it rather than buffer without end.
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                c.closing = true;
                c.outbox.clear();
            }
            if c.closing && c.outbox.is_empty() {
                closed.push(*token);
            }
        }
        for token in closed {
            if let Some(mut c) = conns.remove(&token) {
                let _ = poll.registry().deregister(&mut c.stream);
                if let Some(sid) = c.session {
                    bound[sid] = None;
                    entry.session_closed(sid);
                    counters.sessions[sid].logged_on.store(false, Ordering::Relaxed);
                    let (next_in, next_out) = sessions[sid].sequence_numbers();
                    stored[sid] = (next_in, next_out);
                    store_sequence_numbers(state_dir, &config.sessions[sid], stored[sid]);
                    // The next connection of this session resumes the sequence numbers.
                    sessions[sid] = Session::new(config.sessions[sid].clone(), next_in, next_out, now_ms());
                }
            }
        }
    }
}

/// One line on stderr (the daemon's log): refused connections and Logons.
fn log(line: &str) {
    eprintln!("lft-gateway: {line}");
}

/// Queue what was produced for sessions on their connections, in the order it was stamped
/// (a session not connected any more loses it: it is not resent, see `crate::session`).
fn flush_routed(
    routed: &mut Vec<(usize, Vec<u8>)>,
    bound: &[Option<Token>],
    conns: &mut HashMap<Token, Conn>,
    counters: &Counters,
) {
    for (sid, bytes) in routed.drain(..) {
        if let Some(c) = bound.get(sid).copied().flatten().and_then(|t| conns.get_mut(&t)) {
            queue_out(c, counters, &bytes);
        }
    }
}

/// Answers for the session of the connection being read (once it is logged on) go straight
/// to it, others wait in `routed`.
fn deliver(
    outbox: &mut Vec<u8>,
    session: Option<usize>,
    outs: Vec<(usize, Vec<u8>)>,
    routed: &mut Vec<(usize, Vec<u8>)>,
    counters: &Counters,
) {
    for (to, bytes) in outs {
        if session == Some(to) {
            let sid = to;
            counters.messages_out.fetch_add(1, Ordering::Relaxed);
            counters.sessions[sid].sent(&bytes);
            outbox.extend_from_slice(&bytes);
        } else {
            routed.push((to, bytes));
        }
    }
}

/// Queue bytes for a connection's peer, counted (in all and for its session).
fn queue_out(c: &mut Conn, counters: &Counters, bytes: &[u8]) {
    counters.messages_out.fetch_add(1, Ordering::Relaxed);
    if let Some(sid) = c.session {
        counters.sessions[sid].sent(bytes);
    }
    c.outbox.extend_from_slice(bytes);
}

/// Carry out a session's actions on its connection; returns the application messages it
/// delivered, for order entry.
fn apply(c: &mut Conn, actions: Vec<Action>, counters: &Counters) -> Vec<Vec<u8>> {
    let mut delivered = Vec::new();
    for a in actions {
        match a {
            Action::Send(bytes) => queue_out(c, counters, &bytes),
            Action::Disconnect(_) => c.closing = true,
            Action::Deliver(bytes) => delivered.push(bytes),
        }
    }
    delivered
}

#[allow(clippy::too_many_arguments)]
fn read_and_handle(
    c: &mut Conn,
    token: Token,
    config: &GatewayConfig,
    sessions: &mut [Session],
    bound: &mut [Option<Token>],
    entry: &mut OrderEntry<'_>,
    counters: &Counters,
    routed: &mut Vec<(usize, Vec<u8>)>,
) -> bool {
    let mut buf = [0u8; 16 * 1024];
    let mut more = false;
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => {
                c.closing = true;
                break;
            }
            Ok(n) => {
                c.inbox.extend_from_slice(&buf[..n]);
                if c.inbox.len() > config.limits.max_message_bytes + SLACK {
                    // Framing checks below refuse an oversized message; this bounds a flood
                    // (and lets other connections in: the rest is read next round).
                    more = true;
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                c.closing = true;
                break;
            }
        }
    }
    let mut used = 0;
    while !c.closing {
        match decode(&c.inbox[used..], &config.limits) {
            Decoded::Incomplete => break,
            Decoded::Fatal(_) => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                c.closing = true;
            }
            Decoded::Garbled(_, skip) => {
                counters.garbled.fetch_add(1, Ordering::Relaxed);
                used += skip;
            }
            Decoded::Message(m, n) => {
                used += n;
                counters.messages_in.fetch_add(1, Ordering::Relaxed);
                if let Some(sid) = c.session {
                    counters.sessions[sid].messages_in.fetch_add(1, Ordering::Relaxed);
                }
                let now = now_ms();
                let sid = match c.session {
                    Some(sid) => sid,
                    None => {
                        // Which configured session is logging on: by its CompIDs.
                        let found = config.sessions.iter().position(|s| {
                            m.get_str(49) == Some(s.their_comp_id.as_str())
                                && m.get_str(56) == Some(s.our_comp_id.as_str())
                        });
                        match found {
                            Some(sid) if bound[sid].is_none() => sid,
                            other => {
                                let peer = c.stream.peer_addr().map_or("?".into(), |a| a.to_string());
                                let ids = (m.get_str(49).unwrap_or("-"), m.get_str(56).unwrap_or("-"));
                                let why =
                                    if other.is_some() { "already logged on" } else { "unknown CompIDs" };
                                log(&format!(
                                    "refused a connection from {peer}: {why} (49={} 56={})",
                                    ids.0, ids.1
                                ));
                                counters.dropped.fetch_add(1, Ordering::Relaxed);
                                c.closing = true;
                                break;
                            }
                        }
                    }
                };
                // Throttle: messages per second per session.
                if c.window.0.elapsed() >= Duration::from_secs(1) {
                    c.window = (Instant::now(), 0);
                }
                c.window.1 += 1;
                // An in-sequence NewOrderSingle goes down the pipeline; anything else first
                // has what is in flight answered, so replies keep the order of requests.
                let pipelined = c.session == Some(sid)
                    && m.msg_type() == Some(b"D")
                    && sessions[sid].state() == State::Active
                    && m.seq_num().ok().flatten() == Some(sessions[sid].sequence_numbers().0)
                    && m.get(43) != Some(b"Y");
                if !pipelined || c.window.1 > config.max_messages_per_second {
                    let mut outs = Vec::new();
                    entry.drain(sessions, now, &mut outs);
                    deliver(&mut c.outbox, c.session, outs, routed, counters);
                }
                if pipelined
                    && c.window.1 <= config.max_messages_per_second
                    && sessions[sid].accept_application(&m, now)
                {
                    // No session action: straight to order entry, no copy.
                    let outs = entry.on_message(sid, &m, sessions, now);
                    deliver(&mut c.outbox, c.session, outs, routed, counters);
                    continue;
                }
                if c.window.1 > config.max_messages_per_second && c.session.is_some() {
                    counters.throttled.fetch_add(1, Ordering::Relaxed);
                    let bytes = sessions[sid].outgoing("5", now, |b| {
                        b.field(58, "message rate above the limit");
                    });
                    queue_out(c, counters, &bytes);
                    c.closing = true;
                    break;
                }
                let actions = sessions[sid].on_message(&m, now);
                if c.session.is_none() && sessions[sid].state() == State::Closed {
                    let peer = c.stream.peer_addr().map_or("?".into(), |a| a.to_string());
                    let why = actions.iter().find_map(|a| match a {
                        Action::Disconnect(why) => Some(why.as_str()),
                        _ => None,
                    });
                    let who = &config.sessions[sid];
                    log(&format!(
                        "refused a Logon from {peer} as {}->{}: {}",
                        who.their_comp_id,
                        who.our_comp_id,
                        why.unwrap_or("refused")
                    ));
                }
                if c.session.is_none() {
                    match sessions[sid].state() {
                        State::Active => {
                            c.session = Some(sid);
                            bound[sid] = Some(token);
                            counters.logons.fetch_add(1, Ordering::Relaxed);
                            let mine = &counters.sessions[sid];
                            mine.logons.fetch_add(1, Ordering::Relaxed);
                            mine.logged_on.store(true, Ordering::Relaxed);
                            mine.messages_in.fetch_add(1, Ordering::Relaxed);
                        }
                        State::Closed => {
                            // A refused Logon: the session waits for the next attempt as it was.
                            counters.dropped.fetch_add(1, Ordering::Relaxed);
                            let (next_in, next_out) = sessions[sid].sequence_numbers();
                            sessions[sid] =
                                Session::new(config.sessions[sid].clone(), next_in, next_out, now);
                        }
                        State::AwaitingLogon | State::LoggingOut => {}
                    }
                }
                for bytes in apply(c, actions, counters) {
                    if let Decoded::Message(app, _) = decode(&bytes, &config.limits) {
                        let outs = entry.on_message(sid, &app, sessions, now);
                        deliver(&mut c.outbox, c.session, outs, routed, counters);
                    }
                }
            }
        }
    }
    c.inbox.drain(..used.min(c.inbox.len()));
    more && !c.closing
}
