//! The acceptor over loopback TCP: a whole session, and the limits that protect it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lft_engine::system::{SymbolSpec, SystemConfig, TradingSystem};
use lft_engine::{BookConfig, Decimal};
use lft_gateway::codec::{decode, Decoded, Limits, MessageBuilder};
use lft_gateway::server::{Gateway, GatewayConfig};
use lft_gateway::session::SessionConfig;

fn system() -> Arc<TradingSystem> {
    let book = BookConfig::new("BTC-USD", Decimal::new(1, 2), Decimal::new(1, 3)).unwrap();
    let mut cfg = SystemConfig::with_symbols(vec![SymbolSpec::new(book)]);
    cfg.threads = 1;
    Arc::new(TradingSystem::start(cfg).unwrap())
}

fn gateway_config(
    max_rate: u32,
    logon_timeout: Duration,
    state_directory: Option<std::path::PathBuf>,
) -> GatewayConfig {
    GatewayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        sessions: vec![SessionConfig {
            our_comp_id: "LFT".into(),
            their_comp_id: "CLIENT".into(),
            password: Some("pw".into()),
            heartbeat_range: (1, 60),
        }],
        limits: Limits::default(),
        max_connections: 4,
        logon_timeout,
        max_messages_per_second: max_rate,
        state_directory,
    }
}

fn gateway(max_rate: u32) -> (Arc<TradingSystem>, Gateway) {
    let system = system();
    let gw = Gateway::start(Arc::clone(&system), gateway_config(max_rate, Duration::from_millis(300), None))
        .unwrap();
    (system, gw)
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    seq: u64,
}

impl Client {
    fn connect(gw: &Gateway) -> Client {
        let stream = TcpStream::connect(gw.local_addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        Client { stream, buf: Vec::new(), seq: 1 }
    }

    fn send(&mut self, msg_type: &str, fields: &[(u32, &str)]) {
        self.try_send(msg_type, fields).unwrap();
    }

    /// Send, returning the socket's error: once the gateway has logged the session out and
    /// closed it, a write can fail (broken pipe, connection reset) before the client has read
    /// the Logout.
    fn try_send(&mut self, msg_type: &str, fields: &[(u32, &str)]) -> std::io::Result<()> {
        let mut b = MessageBuilder::new(msg_type);
        b.field(49, "CLIENT").field(56, "LFT").field(34, self.seq).field(52, "20261202-10:00:00.000");
        for (t, v) in fields {
            b.field(*t, v);
        }
        self.seq += 1;
        self.stream.write_all(&b.finish())
    }

    /// The next message's (MsgType, fields), or None when the connection closed or 3 s passed.
    fn recv(&mut self) -> Option<(String, Vec<(u32, String)>)> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            if let Decoded::Message(m, used) = decode(&self.buf, &Limits::default()) {
                let t = String::from_utf8(m.msg_type().unwrap().to_vec()).unwrap();
                let f = m.fields.iter().map(|(k, v)| (*k, String::from_utf8_lossy(v).into_owned())).collect();
                self.buf.drain(..used);
                return Some((t, f));
            }
            if Instant::now() > deadline {
                return None;
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return None,
            }
        }
    }

    fn closed(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return true,
            }
        }
        false
    }
}

fn get(f: &[(u32, String)], tag: u32) -> Option<&str> {
    f.iter().find(|(t, _)| *t == tag).map(|(_, v)| v.as_str())
}

const LOGON: [(u32, &str); 3] = [(98, "0"), (108, "30"), (554, "pw")];

#[test]
fn a_client_logs_on_trades_and_logs_out_over_tcp() {
    let (system, mut gw) = gateway(1000);
    let mut c = Client::connect(&gw);
    c.send("A", &LOGON);
    assert_eq!(c.recv().unwrap().0, "A");
    c.send(
        "D",
        &[
            (11, "o1"),
            (55, "BTC-USD"),
            (54, "1"),
            (60, "20261202-10:00:00"),
            (38, "1"),
            (40, "2"),
            (44, "100"),
            (59, "1"),
        ],
    );
    let (t, f) = c.recv().unwrap();
    assert_eq!((t.as_str(), get(&f, 150), get(&f, 39), get(&f, 11)), ("8", Some("0"), Some("0"), Some("o1")));
    assert_eq!(system.book(0).unwrap().len(), 1);
    c.send("5", &[]);
    assert_eq!(c.recv().unwrap().0, "5");
    assert!(c.closed());
    // The next connection of the session resumes its sequence numbers.
    let mut again = Client::connect(&gw);
    again.seq = 4;
    again.send("A", &LOGON);
    let (t, f) = again.recv().unwrap();
    assert_eq!((t.as_str(), get(&f, 34)), ("A", Some("4")));
    gw.stop();
    assert_eq!(again.recv().map(|m| m.0).as_deref(), Some("5"), "a Logout at shutdown");
}

#[test]
fn garbage_a_huge_message_a_wrong_password_and_silence_are_disconnected() {
    let (_system, gw) = gateway(1000);
    let mut c = Client::connect(&gw);
    c.stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert!(c.closed(), "not FIX");
    let mut c = Client::connect(&gw);
    c.stream.write_all(b"8=FIX.4.4\x019=10000000\x0135=D\x01").unwrap();
    assert!(c.closed(), "a 10 MB message");
    let mut c = Client::connect(&gw);
    c.send("A", &[(98, "0"), (108, "30"), (554, "wrong")]);
    assert!(c.closed(), "wrong password");
    let mut c = Client::connect(&gw);
    assert!(c.closed(), "no Logon within the timeout (slowloris)");
    let counters = &gw.counters;
    assert!(counters.dropped.load(std::sync::atomic::Ordering::Relaxed) >= 3);
}

#[test]
fn a_session_sending_too_fast_is_logged_out() {
    let (_system, gw) = gateway(20);
    let mut c = Client::connect(&gw);
    c.send("A", &LOGON);
    assert_eq!(c.recv().unwrap().0, "A");
    for i in 0..40 {
        // The gateway closes the session once it is over the rate, maybe before all 40 went out.
        if c.try_send("1", &[(112, &i.to_string())]).is_err() {
            break;
        }
    }
    let mut saw_logout = false;
    while let Some((t, f)) = c.recv() {
        if t == "5" {
            saw_logout = get(&f, 58).is_some_and(|x| x.contains("rate"));
            break;
        }
    }
    assert!(saw_logout);
}

#[test]
fn sequence_numbers_survive_a_restart_of_the_gateway() {
    let dir = std::env::temp_dir().join(format!("lft-fix-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let system = system();
    let config = || gateway_config(1000, Duration::from_secs(2), Some(dir.clone()));
    let mut gw = Gateway::start(Arc::clone(&system), config()).unwrap();
    let mut c = Client::connect(&gw);
    c.send("A", &LOGON);
    c.recv().unwrap();
    c.send("1", &[(112, "x")]);
    c.recv().unwrap();
    gw.stop();
    // A new gateway (a daemon restart) expects 3 and sends 4 (Logon, Heartbeat, Logout were 1..3).
    let gw = Gateway::start(Arc::clone(&system), config()).unwrap();
    let mut again = Client::connect(&gw);
    again.seq = 3;
    again.send("A", &LOGON);
    let (t, f) = again.recv().unwrap();
    assert_eq!((t.as_str(), get(&f, 34)), ("A", Some("4")));
    drop(gw);
    let _ = std::fs::remove_dir_all(&dir);
}
