//! A game server laid out like a Bevy + lightyear server's connect and disconnect handlers,
//! with a plain UDP loop standing in for lightyear's transport.
//!
//! lightyear runs the netcode handshake itself (token decryption, the address check, the
//! challenge) and then raises a connect event carrying the client id, the peer address and
//! the token's 256 bytes of user data (the `TokenUserData` component, 0.26.4 and later). Here
//! the player sends those in one datagram instead, so that the part seatgate adds can be
//! seen alone:
//!
//!   player -> server   'C' client_id(u64, big-endian) user_data(256 bytes)   connect
//!                      'D' client_id                                         goodbye
//!                      'S' client_id value(i64, big-endian)                  a score
//!   server -> player   "accepted <client_id> <session_id>" | "denied <client_id> <reason> <message>"
//!                      "left <client_id>" | "scored <client_id>" | "refused <client_id> <why>"
//!
//! Settings come from the environment as the C hook reads them (SEATGATE_*, Edgegap's
//! ARBITRIUM_*); SEATGATE_EXAMPLE_LISTEN (default 0.0.0.0:7000) is the UDP address. Prints
//! "listening <port>" once bound; SIGTERM or SIGINT stops it (seats released, server record
//! removed).
//!
//!   cargo run --offline --example lightyear_server
use std::collections::HashMap;
use std::ffi::c_int;
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use seatgate_hook::{DisconnectReason, Event, Hook, Options, Verdict, session_from_user_data};

static STOP: AtomicBool = AtomicBool::new(false);

unsafe extern "C" {
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
}

extern "C" fn on_signal(_: c_int) {
    STOP.store(true, Ordering::SeqCst);
}

struct Server {
    hook: Hook,
    socket: UdpSocket,
    /// Verifications under way, in the order asked (the connection waits in lightyear
    /// meanwhile). The hook, not this table, decides whether a client id may connect.
    pending: Vec<(u64, SocketAddr)>,
    /// Accepted players.
    players: HashMap<u64, SocketAddr>,
}

impl Server {
    fn send(&self, to: SocketAddr, text: &str) {
        let _ = self.socket.send_to(text.as_bytes(), to);
    }

    /// lightyear: the connect event (a `Connected` client entity with `TokenUserData`).
    fn on_connect(&mut self, client_id: u64, addr: SocketAddr, user_data: &[u8; 256]) {
        let session = session_from_user_data(user_data).ok();
        match self.hook.verify(client_id, addr.ip(), session.as_deref()) {
            Ok(()) => self.pending.push((client_id, addr)),
            // Not even queued (full, or stopping): kick at once.
            Err(e) => self.send(addr, &format!("refused {client_id} {}", e.error().status())),
        }
    }

    /// A verdict from the hook: keep the player, or kick them (lightyear: despawn the
    /// client entity / `commands.trigger(Disconnect)`).
    fn on_verdict(&mut self, v: Verdict) {
        let Some(i) = self.pending.iter().position(|&(cid, _)| cid == v.client_id) else { return };
        let (_, addr) = self.pending.remove(i);
        if v.accepted {
            self.players.insert(v.client_id, addr);
            self.send(addr, &format!("accepted {} {}", v.client_id, v.session_id));
            println!("accepted client_id={} addr={addr} session_id={}", v.client_id, v.session_id);
        } else {
            self.send(addr, &format!("denied {} {} {}", v.client_id, v.reason, v.message));
            println!("denied client_id={} addr={addr} reason={}", v.client_id, v.reason);
        }
    }

    /// lightyear: the disconnect event. Frees the seat.
    fn on_disconnect(&mut self, client_id: u64, from: SocketAddr, reason: DisconnectReason) {
        if self.players.get(&client_id) != Some(&from) {
            return; // only the player's own address may end its connection
        }
        if let Err(e) = self.hook.disconnect(client_id, reason) {
            eprintln!("disconnect {client_id}: {e}");
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Verdict(v) => self.on_verdict(v),
            Event::Disconnected { client_id, result } => {
                if let Some(addr) = self.players.remove(&client_id) {
                    self.send(addr, &format!("left {client_id}"));
                }
                println!("left client_id={client_id} result={result:?}");
            }
            Event::ScorePublished { client_id, result } => {
                if let (Some(&addr), Ok(())) = (self.players.get(&client_id), &result) {
                    self.send(addr, &format!("scored {client_id}"));
                }
            }
        }
    }

    fn on_datagram(&mut self, buf: &[u8], from: SocketAddr) {
        let id = |b: &[u8]| b.get(1..9).map(|s| u64::from_be_bytes(s.try_into().unwrap()));
        match (buf.first(), buf.len()) {
            (Some(b'C'), 265) => {
                let user_data: &[u8; 256] = buf[9..265].try_into().unwrap();
                self.on_connect(id(buf).unwrap(), from, user_data);
            }
            (Some(b'D'), 9) => {
                self.on_disconnect(id(buf).unwrap(), from, DisconnectReason::Goodbye)
            }
            (Some(b'S'), 17) => {
                let cid = id(buf).unwrap();
                let value = i64::from_be_bytes(buf[9..17].try_into().unwrap());
                if self.players.get(&cid) == Some(&from) {
                    let _ = self.hook.publish_score(cid, "score", value, None);
                }
            }
            _ => {} // not ours: ignored, as a transport drops garbage
        }
    }

    /// One tick of the game loop: the transport's packets, then the hook's results.
    fn tick(&mut self) {
        let mut buf = [0u8; 1500];
        loop {
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => self.on_datagram(&buf[..n], from),
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => break,
                Err(e) => {
                    eprintln!("recv: {e}");
                    break;
                }
            }
        }
        for event in self.hook.events() {
            self.on_event(event);
        }
    }
}

fn main() -> ExitCode {
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        signal(2, on_signal); // SIGINT
        signal(15, on_signal); // SIGTERM
    }
    let options = match Options::from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("lightyear_server: error: {e}");
            return ExitCode::from(2);
        }
    };
    let hook = match Hook::new(&options) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("lightyear_server: error: {e}");
            return ExitCode::from(2);
        }
    };
    let listen = std::env::var("SEATGATE_EXAMPLE_LISTEN").unwrap_or_else(|_| "0.0.0.0:7000".into());
    let socket = match UdpSocket::bind(&listen) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lightyear_server: error: cannot listen on {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    // A 16 ms tick, as a game at 60 Hz: the read timeout paces the loop.
    socket.set_read_timeout(Some(Duration::from_millis(16))).expect("read timeout");
    println!("listening {}", socket.local_addr().map(|a| a.port()).unwrap_or(0));
    let _ = std::io::stdout().flush();

    let mut server = Server { hook, socket, pending: Vec::new(), players: HashMap::new() };
    while !STOP.load(Ordering::SeqCst) {
        server.tick();
    }
    // Shutting down: every player leaves (seats freed), then the hook stops.
    let players: Vec<u64> = server.players.keys().copied().collect();
    for cid in players {
        let _ = server.hook.disconnect(cid, DisconnectReason::ServerStop);
    }
    if let Err(e) = server.hook.stop(None) {
        eprintln!("lightyear_server: stop: {e}");
    }
    for event in server.hook.events() {
        server.on_event(event);
    }
    let s = server.hook.stats();
    println!(
        "stopped verifies={} accepted={} disconnects={}",
        s.verifies, s.accepted, s.disconnects
    );
    ExitCode::SUCCESS
}
