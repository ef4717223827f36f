//! seatgate gameserver hook for Rust game servers.
//!
//! A game server (Bevy + lightyear, or any other) creates one [`Hook`] at start. When a player
//! connects it calls [`Hook::verify`] with the player's client id, address and the session id
//! from the connect token's user data; the verdict comes back later through [`Hook::poll`],
//! which the game calls every tick. An accepted player holds its seat until
//! [`Hook::disconnect`]; a refused one is kicked by the game. Nothing here blocks the game
//! loop: `verify`, `disconnect` and `publish_score` only queue, and all network work runs on
//! the hook's own thread.
//!
//! ```no_run
//! use seatgate_hook::{DisconnectReason, Event, Hook, Options};
//! # fn kick(_: u64) {}
//! # fn main() -> Result<(), seatgate_hook::Error> {
//! // SEATGATE_* and Edgegap's ARBITRIUM_* variables, then anything set here.
//! let mut options = Options::from_env()?;
//! options.set("port-name", "game")?;
//! let hook = Hook::new(&options)?;
//!
//! // lightyear's connect event: client id, address, and the token's user data.
//! # let (client_id, addr, user_data) = (1u64, "203.0.113.7".parse().unwrap(), [0u8; 256]);
//! let session = seatgate_hook::session_from_user_data(&user_data).ok();
//! if hook.verify(client_id, addr, session.as_deref()).is_err() {
//!     kick(client_id); // queue full or stopping: refuse now
//! }
//!
//! // Every tick:
//! hook.poll(|event| match event {
//!     Event::Verdict(v) if !v.accepted => kick(v.client_id),
//!     _ => {}
//! });
//!
//! // lightyear's disconnect event:
//! hook.disconnect(client_id, DisconnectReason::Goodbye).ok();
//! # Ok(()) }
//! ```
//!
//! Linking: `seatgate-hook-sys`'s build script finds the C library with pkg-config; set
//! `SEATGATE_HOOK_PREFIX` to the install prefix, and `SEATGATE_HOOK_STATIC=1` to link it
//! statically. See the crate's README.
use std::collections::VecDeque;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::fmt;
use std::net::IpAddr;
use std::os::fd::RawFd;
use std::ptr::{self, NonNull};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

pub use seatgate_hook_sys as sys;

/// The C library's version this crate was written against.
pub const VERSION: &str = sys::SG_HOOK_VERSION_TEXT;

fn c_text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the library hands out NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn static_text(p: *const c_char) -> &'static str {
    if p.is_null() {
        return "";
    }
    // SAFETY: names come from static tables in the library, valid for the process lifetime.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}

fn array_text(a: &[c_char]) -> String {
    let bytes: Vec<u8> = a.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn millis(timeout: Option<Duration>) -> c_int {
    match timeout {
        None => -1,
        Some(d) => d.as_millis().min(c_int::MAX as u128) as c_int,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// A status code of the library (`sg_status`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(pub i32);

impl Status {
    pub const OK: Status = Status(sys::SG_OK);
    pub const INVALID: Status = Status(sys::SG_E_INVALID);
    pub const NOMEM: Status = Status(sys::SG_E_NOMEM);
    pub const MALFORMED: Status = Status(sys::SG_E_MALFORMED);
    pub const TOO_LARGE: Status = Status(sys::SG_E_TOO_LARGE);
    pub const NOT_FOUND: Status = Status(sys::SG_E_NOT_FOUND);
    pub const UNAVAILABLE: Status = Status(sys::SG_E_UNAVAILABLE);
    pub const TIMEOUT: Status = Status(sys::SG_E_TIMEOUT);
    pub const FULL: Status = Status(sys::SG_E_FULL);
    pub const UNAUTHORIZED: Status = Status(sys::SG_E_UNAUTHORIZED);

    /// The library's stable lower-case name ("full", "unavailable", "not_found"...).
    pub fn name(self) -> &'static str {
        // SAFETY: sg_status_name never returns NULL and takes any value.
        static_text(unsafe { sys::sg_status_name(self.0) })
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed call: its status and the library's explanation (never holding a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    /// The error raised by the last call on this thread, with its message.
    fn last(status: i32) -> Error {
        // SAFETY: sg_last_error never returns NULL.
        let message = c_text(unsafe { sys::sg_last_error() });
        let status = Status(status);
        Error {
            status,
            message: if message.is_empty() { status.name().to_string() } else { message },
        }
    }

    fn check(status: i32) -> Result<(), Error> {
        if status == sys::SG_OK { Ok(()) } else { Err(Error::last(status)) }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.status)
    }
}

impl std::error::Error for Error {}

/// Why the hook did not queue a request. The game refuses that connection at once: the queue
/// was full ([`FullError::is_full`], the case a server under a flood meets), the hook is
/// stopping, or the input was bad (a session id with a NUL byte, client id 0...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullError(pub Error);

impl FullError {
    /// The hook already holds `queue-size` unfinished requests.
    pub fn is_full(&self) -> bool {
        self.0.status == Status::FULL
    }

    /// The hook is stopping or stopped.
    pub fn is_stopping(&self) -> bool {
        self.0.status == Status::UNAVAILABLE
    }

    pub fn error(&self) -> &Error {
        &self.0
    }
}

impl fmt::Display for FullError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request not queued: {}", self.0)
    }
}

impl std::error::Error for FullError {}

impl From<FullError> for Error {
    fn from(e: FullError) -> Error {
        e.0
    }
}

fn cstring(what: &str, text: &str) -> Result<CString, Error> {
    CString::new(text).map_err(|_| Error::new(Status::INVALID, format!("{what}: holds a NUL byte")))
}

// ---------------------------------------------------------------------------------------------
// Options

/// The hook's settings, by name (the names of the SEATGATE_* variables, lower-case and
/// dashed: "store-url" is SEATGATE_STORE_URL; Edgegap's ARBITRIUM_* are "arbitrium-..."). The
/// table is in docs/gameserver-hook.md.
pub struct Options {
    raw: NonNull<sys::sg_hook_options>,
}

// SAFETY: options are plain data owned by this value; the library has no global state for them.
unsafe impl Send for Options {}

impl Options {
    /// The defaults.
    pub fn new() -> Result<Options, Error> {
        let mut raw: *mut sys::sg_hook_options = std::ptr::null_mut();
        // SAFETY: `raw` is a valid place for the out-parameter.
        Error::check(unsafe { sys::sg_hook_options_new(&mut raw) })?;
        NonNull::new(raw)
            .map(|raw| Options { raw })
            .ok_or_else(|| Error::new(Status::NOMEM, "hook options: out of memory"))
    }

    /// The defaults, then every SEATGATE_* and ARBITRIUM_* variable of the environment
    /// (secrets also from SEATGATE_<NAME>_FILE).
    pub fn from_env() -> Result<Options, Error> {
        let mut o = Options::new()?;
        o.load_env()?;
        Ok(o)
    }

    /// Reads the environment over the current values (unset variables change nothing).
    pub fn load_env(&mut self) -> Result<&mut Options, Error> {
        // SAFETY: raw is valid for self's lifetime.
        Error::check(unsafe { sys::sg_hook_options_load_env(self.raw.as_ptr()) })?;
        Ok(self)
    }

    /// Sets one setting. Errors name an unknown setting or a value that does not parse (a
    /// secret's value is never echoed).
    pub fn set(&mut self, name: &str, value: &str) -> Result<&mut Options, Error> {
        let n = cstring("setting name", name)?;
        let v = cstring(name, value)?;
        // SAFETY: valid handle and NUL-terminated strings; the library copies them.
        Error::check(unsafe {
            sys::sg_hook_options_set(self.raw.as_ptr(), n.as_ptr(), v.as_ptr())
        })?;
        Ok(self)
    }

    /// Back to the default.
    pub fn unset(&mut self, name: &str) -> Result<&mut Options, Error> {
        let n = cstring("setting name", name)?;
        // SAFETY: valid handle; NULL value unsets.
        Error::check(unsafe {
            sys::sg_hook_options_set(self.raw.as_ptr(), n.as_ptr(), ptr::null())
        })?;
        Ok(self)
    }

    /// The effective text of a setting ("" when unset, "(set)" for a secret that is set);
    /// None for an unknown name.
    pub fn get(&self, name: &str) -> Option<String> {
        let n = CString::new(name).ok()?;
        // SAFETY: valid handle; the result is copied before any other call.
        let p = unsafe { sys::sg_hook_options_get(self.raw.as_ptr(), n.as_ptr()) };
        if p.is_null() { None } else { Some(c_text(p)) }
    }

    /// Every setting's name, in table order.
    pub fn names() -> Vec<&'static str> {
        // SAFETY: index within the count; names are static.
        (0..unsafe { sys::sg_hook_options_count() })
            .map(|i| static_text(unsafe { sys::sg_hook_options_name(i) }))
            .collect()
    }
}

/// Every setting with its effective text (secrets as "(set)", never their value).
impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for name in Options::names() {
            m.entry(&name, &self.get(name).unwrap_or_default());
        }
        m.finish()
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::sg_hook_options_free(self.raw.as_ptr()) }
    }
}

// ---------------------------------------------------------------------------------------------
// Verdicts and events

/// Why a player was accepted or refused (`sg_hook_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    Accepted,
    /// Client id 0, or a source IP that does not parse.
    Invalid,
    /// No connect_tokens entry: an unknown or expired client id.
    UnknownClient,
    /// The token's session id is not the one recorded for the client.
    SessionMismatch,
    /// The platform no longer knows the session.
    SessionGone,
    SessionNotReady,
    /// The source IP is not one the session was made for.
    IpMismatch,
    WrongServerIp,
    /// The session belongs to another game server.
    WrongServerId,
    /// Another connection, here or on another server, holds the session.
    AlreadyConnected,
    /// A dependency (store, platform) failed, or the hook is stopping.
    Unavailable,
    /// Too many verifications from this address (verify-rate).
    RateLimited,
    /// This address holds claims-per-ip connections here.
    IpLimit,
    /// A seat token (JWS) that does not verify: signature, key, times or audience.
    BadSeatToken,
    /// This server holds as many players as its capacity.
    ServerFull,
    /// A reason newer than this crate.
    Other(i32),
}

impl Reason {
    fn from_raw(r: i32) -> Reason {
        match r {
            sys::SG_HOOK_ACCEPTED => Reason::Accepted,
            sys::SG_HOOK_REJECT_INVALID => Reason::Invalid,
            sys::SG_HOOK_REJECT_UNKNOWN_CLIENT => Reason::UnknownClient,
            sys::SG_HOOK_REJECT_SESSION_MISMATCH => Reason::SessionMismatch,
            sys::SG_HOOK_REJECT_SESSION_GONE => Reason::SessionGone,
            sys::SG_HOOK_REJECT_SESSION_NOT_READY => Reason::SessionNotReady,
            sys::SG_HOOK_REJECT_IP_MISMATCH => Reason::IpMismatch,
            sys::SG_HOOK_REJECT_WRONG_SERVER_IP => Reason::WrongServerIp,
            sys::SG_HOOK_REJECT_WRONG_SERVER_ID => Reason::WrongServerId,
            sys::SG_HOOK_REJECT_ALREADY_CONNECTED => Reason::AlreadyConnected,
            sys::SG_HOOK_REJECT_UNAVAILABLE => Reason::Unavailable,
            sys::SG_HOOK_REJECT_RATE_LIMITED => Reason::RateLimited,
            sys::SG_HOOK_REJECT_IP_LIMIT => Reason::IpLimit,
            sys::SG_HOOK_REJECT_BAD_SEAT_TOKEN => Reason::BadSeatToken,
            sys::SG_HOOK_REJECT_SERVER_FULL => Reason::ServerFull,
            other => Reason::Other(other),
        }
    }

    /// The C value.
    pub fn raw(self) -> i32 {
        match self {
            Reason::Accepted => sys::SG_HOOK_ACCEPTED,
            Reason::Invalid => sys::SG_HOOK_REJECT_INVALID,
            Reason::UnknownClient => sys::SG_HOOK_REJECT_UNKNOWN_CLIENT,
            Reason::SessionMismatch => sys::SG_HOOK_REJECT_SESSION_MISMATCH,
            Reason::SessionGone => sys::SG_HOOK_REJECT_SESSION_GONE,
            Reason::SessionNotReady => sys::SG_HOOK_REJECT_SESSION_NOT_READY,
            Reason::IpMismatch => sys::SG_HOOK_REJECT_IP_MISMATCH,
            Reason::WrongServerIp => sys::SG_HOOK_REJECT_WRONG_SERVER_IP,
            Reason::WrongServerId => sys::SG_HOOK_REJECT_WRONG_SERVER_ID,
            Reason::AlreadyConnected => sys::SG_HOOK_REJECT_ALREADY_CONNECTED,
            Reason::Unavailable => sys::SG_HOOK_REJECT_UNAVAILABLE,
            Reason::RateLimited => sys::SG_HOOK_REJECT_RATE_LIMITED,
            Reason::IpLimit => sys::SG_HOOK_REJECT_IP_LIMIT,
            Reason::BadSeatToken => sys::SG_HOOK_REJECT_BAD_SEAT_TOKEN,
            Reason::ServerFull => sys::SG_HOOK_REJECT_SERVER_FULL,
            Reason::Other(r) => r,
        }
    }

    /// The stable snake_case name the library logs and publishes ("ip_mismatch"...).
    pub fn name(self) -> &'static str {
        // SAFETY: takes any value, never returns NULL.
        static_text(unsafe { sys::sg_hook_reason_name(self.raw()) })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The answer to a verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub client_id: u64,
    pub accepted: bool,
    pub reason: Reason,
    /// "" when unknown.
    pub session_id: String,
    /// Normalised: an IPv4-mapped IPv6 address shows as IPv4.
    pub source_ip: String,
    /// A human explanation, never holding a secret.
    pub message: String,
}

impl Verdict {
    fn from_raw(v: &sys::sg_hook_verdict) -> Verdict {
        Verdict {
            client_id: v.client_id,
            accepted: v.accepted != 0,
            reason: Reason::from_raw(v.reason),
            session_id: array_text(&v.session_id),
            source_ip: array_text(&v.source_ip),
            message: array_text(&v.message),
        }
    }
}

/// Why a player left (`sg_hook_disconnect_reason`), published with the disconnect event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The client said goodbye.
    Goodbye,
    /// The client went silent.
    Timeout,
    /// The game removed the player.
    Kicked,
    /// The server is shutting down.
    ServerStop,
    /// Transport or protocol error.
    Error,
}

impl DisconnectReason {
    pub fn raw(self) -> c_int {
        match self {
            DisconnectReason::Goodbye => sys::SG_HOOK_DISCONNECT_GOODBYE,
            DisconnectReason::Timeout => sys::SG_HOOK_DISCONNECT_TIMEOUT,
            DisconnectReason::Kicked => sys::SG_HOOK_DISCONNECT_KICKED,
            DisconnectReason::ServerStop => sys::SG_HOOK_DISCONNECT_SERVER_STOP,
            DisconnectReason::Error => sys::SG_HOOK_DISCONNECT_ERROR,
        }
    }

    /// "goodbye", "timeout", "kicked", "server_stop", "error".
    pub fn name(self) -> &'static str {
        // SAFETY: takes any value, never returns NULL.
        static_text(unsafe { sys::sg_hook_disconnect_reason_name(self.raw()) })
    }
}

/// What [`Hook::poll`] hands the game: one per finished request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A verification finished: accept the player, or kick them.
    Verdict(Verdict),
    /// A disconnect was processed (the seat is free; a platform delete that could not be
    /// done at once is queued durably). Err(NOT_FOUND): the client was not connected here.
    Disconnected { client_id: u64, result: Result<(), Error> },
    /// A score event was published. Err(NOT_FOUND): the client is not connected here.
    ScorePublished { client_id: u64, result: Result<(), Error> },
}

fn done_result(status: i32) -> Result<(), Error> {
    if status == sys::SG_OK {
        Ok(())
    } else {
        let st = Status(status);
        let message = if st == Status::NOT_FOUND {
            "the client is not connected here".to_string()
        } else {
            st.name().to_string()
        };
        Err(Error::new(st, message))
    }
}

// The callbacks run inside sg_hook_poll, on the thread that polls; `user` is the hook's event
// queue, which outlives every callback (sg_hook_free runs none after it returns).
type Queue = Mutex<VecDeque<Event>>;

fn push(user: *mut c_void, event: Event) {
    let queue = user as *const Queue;
    // SAFETY: see above; the pointer is the Box'ed queue of a live Hook.
    let queue = unsafe { &*queue };
    queue.lock().unwrap_or_else(|e| e.into_inner()).push_back(event);
}

fn no_unwind(f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        std::process::abort(); // never unwind into C
    }
}

unsafe extern "C" fn on_verdict(v: *const sys::sg_hook_verdict, user: *mut c_void) {
    no_unwind(|| {
        // SAFETY: the library passes a valid verdict for the duration of the call.
        let verdict = Verdict::from_raw(unsafe { &*v });
        push(user, Event::Verdict(verdict));
    });
}

unsafe extern "C" fn on_disconnected(client_id: u64, status: sys::sg_status, user: *mut c_void) {
    no_unwind(|| push(user, Event::Disconnected { client_id, result: done_result(status) }));
}

unsafe extern "C" fn on_score(client_id: u64, status: sys::sg_status, user: *mut c_void) {
    no_unwind(|| push(user, Event::ScorePublished { client_id, result: done_result(status) }));
}

// ---------------------------------------------------------------------------------------------
// The hook

/// Counters of a hook ([`Hook::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub verifies: u64,
    pub accepted: u64,
    /// By reason ([`Reason::raw`] as index); [0] unused.
    pub rejected: [u64; sys::SG_HOOK_REASON_COUNT],
    pub disconnects: u64,
    pub deletes_done: u64,
    pub deletes_queued: u64,
    pub events_published: u64,
    /// Requests refused because the queue was full.
    pub full: u64,
    /// Connections currently held.
    pub players: u32,
    /// Requests queued and not yet polled.
    pub pending: u32,
    pub started: bool,
    pub stopped: bool,
    /// Refusals repeated from memory or rate limited (no I/O, no event).
    pub quiet: u64,
}

impl Stats {
    /// Rejections for one reason.
    pub fn rejected_for(&self, reason: Reason) -> u64 {
        usize::try_from(reason.raw()).ok().and_then(|i| self.rejected.get(i)).copied().unwrap_or(0)
    }
}

/// One game server's hook: created at start, dropped at exit (which stops it: claims
/// released, pending deletes handed over, the server's record removed).
///
/// `verify`, `disconnect` and `publish_score` may be called from any thread; `poll` from one
/// thread at a time (the hook serialises it).
pub struct Hook {
    raw: NonNull<sys::sg_hook>,
    events: Box<Queue>,
    polling: Mutex<()>,
}

// SAFETY: the library allows calls on one hook from any thread; the one call that must not
// run concurrently (sg_hook_poll) is serialised by `polling`, and sg_hook_free runs in Drop
// only, which has the hook to itself.
unsafe impl Send for Hook {}
unsafe impl Sync for Hook {}

impl Hook {
    /// Creates the hook and starts its worker thread, which at once fetches the deployment's
    /// context, registers the server and starts heartbeats. Requests made before that
    /// finishes wait for it. Errors: a missing or bad setting, named.
    pub fn new(options: &Options) -> Result<Hook, Error> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid options; the library copies them.
        Error::check(unsafe { sys::sg_hook_new(options.raw.as_ptr(), &mut raw) })?;
        let raw = NonNull::new(raw)
            .ok_or_else(|| Error::new(Status(sys::SG_E_INTERNAL), "hook: NULL"))?;
        Ok(Hook { raw, events: Box::new(Mutex::new(VecDeque::new())), polling: Mutex::new(()) })
    }

    fn user(&self) -> *mut c_void {
        &*self.events as *const Queue as *mut c_void
    }

    /// Blocks until the start sequence finished (None: no limit). For servers that want to be
    /// registered before they open their port; not for the game loop.
    pub fn wait_started(&self, timeout: Option<Duration>) -> Result<(), Error> {
        // SAFETY: valid handle.
        Error::check(unsafe { sys::sg_hook_wait_started(self.raw.as_ptr(), millis(timeout)) })
    }

    /// Queues the verification of a new connection: its client id, the address it comes
    /// from, and the session id from the token's user data ([`session_from_user_data`]; None
    /// when the transport does not expose it). The verdict arrives as [`Event::Verdict`]
    /// from a later [`Hook::poll`]. Err: not queued, refuse the connection now.
    pub fn verify(
        &self,
        client_id: u64,
        addr: IpAddr,
        session: Option<&str>,
    ) -> Result<(), FullError> {
        let ip = cstring("source address", &addr.to_string()).map_err(FullError)?;
        let sid = session.map(|s| cstring("session id", s)).transpose().map_err(FullError)?;
        let sid_ptr = sid.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        // SAFETY: valid handle and strings (copied by the library); the callback's user
        // pointer lives as long as the hook.
        let st = unsafe {
            sys::sg_hook_verify(
                self.raw.as_ptr(),
                client_id,
                ip.as_ptr(),
                sid_ptr,
                Some(on_verdict),
                self.user(),
            )
        };
        Error::check(st).map_err(FullError)
    }

    /// Queues the disconnect of an accepted player: releases the seat, deletes the platform
    /// session and publishes the event. [`Event::Disconnected`] follows from a later poll.
    pub fn disconnect(&self, client_id: u64, reason: DisconnectReason) -> Result<(), FullError> {
        // SAFETY: valid handle; see verify for the callback.
        let st = unsafe {
            sys::sg_hook_disconnect(
                self.raw.as_ptr(),
                client_id,
                reason.raw(),
                Some(on_disconnected),
                self.user(),
            )
        };
        Error::check(st).map_err(FullError)
    }

    /// Queues a score event for an accepted player ("score", "kill"...; |value| <= 2^53;
    /// target: the other player involved). [`Event::ScorePublished`] follows.
    pub fn publish_score(
        &self,
        client_id: u64,
        kind: &str,
        value: i64,
        target: Option<u64>,
    ) -> Result<(), FullError> {
        let k = cstring("score kind", kind).map_err(FullError)?;
        // SAFETY: valid handle and string; see verify for the callback.
        let st = unsafe {
            sys::sg_hook_publish_score(
                self.raw.as_ptr(),
                client_id,
                k.as_ptr(),
                value,
                target.unwrap_or(0),
                Some(on_score),
                self.user(),
            )
        };
        Error::check(st).map_err(FullError)
    }

    /// Hands every finished request to `f`, on this thread; returns how many. Call it every
    /// tick: it costs nothing when there is nothing (no system call). `f` may call the hook.
    pub fn poll(&self, mut f: impl FnMut(Event)) -> usize {
        let batch: Vec<Event> = {
            let _one_at_a_time = self.polling.lock().unwrap_or_else(|e| e.into_inner());
            // SAFETY: valid handle; serialised by `polling`.
            unsafe { sys::sg_hook_poll(self.raw.as_ptr(), 0) };
            self.events.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect()
        };
        let n = batch.len();
        batch.into_iter().for_each(&mut f);
        n
    }

    /// The finished requests, as an iterator (poll, then drain).
    pub fn events(&self) -> std::vec::IntoIter<Event> {
        let mut all = Vec::new();
        self.poll(|e| all.push(e));
        all.into_iter()
    }

    /// A descriptor that becomes readable when `poll` has work (for loops that wait in
    /// poll/epoll); None when unavailable.
    pub fn poll_fd(&self) -> Option<RawFd> {
        // SAFETY: valid handle.
        let fd = unsafe { sys::sg_hook_poll_fd(self.raw.as_ptr()) };
        (fd >= 0).then_some(fd)
    }

    /// Verifies and waits (tools and tests; never from the game loop).
    pub fn verify_wait(
        &self,
        client_id: u64,
        addr: IpAddr,
        session: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<Verdict, Error> {
        let ip = cstring("source address", &addr.to_string())?;
        let sid = session.map(|s| cstring("session id", s)).transpose()?;
        let sid_ptr = sid.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        // SAFETY: a zeroed verdict is a valid value of the plain C struct.
        let mut v: sys::sg_hook_verdict = unsafe { std::mem::zeroed() };
        // SAFETY: valid handle, strings and output.
        Error::check(unsafe {
            sys::sg_hook_verify_wait(
                self.raw.as_ptr(),
                client_id,
                ip.as_ptr(),
                sid_ptr,
                millis(timeout),
                &mut v,
            )
        })?;
        Ok(Verdict::from_raw(&v))
    }

    /// Disconnects and waits (tools and tests).
    pub fn disconnect_wait(
        &self,
        client_id: u64,
        reason: DisconnectReason,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        // SAFETY: valid handle.
        Error::check(unsafe {
            sys::sg_hook_disconnect_wait(
                self.raw.as_ptr(),
                client_id,
                reason.raw(),
                millis(timeout),
            )
        })
    }

    /// The hook's counters (cheap: no network).
    pub fn stats(&self) -> Stats {
        let mut s = sys::sg_hook_stats::default();
        // SAFETY: valid handle and output.
        unsafe { sys::sg_hook_get_stats(self.raw.as_ptr(), &mut s) };
        Stats {
            verifies: s.verifies,
            accepted: s.accepted,
            rejected: s.rejected,
            disconnects: s.disconnects,
            deletes_done: s.deletes_done,
            deletes_queued: s.deletes_queued,
            events_published: s.events_published,
            full: s.full,
            players: s.players,
            pending: s.pending,
            started: s.started != 0,
            stopped: s.stopped != 0,
            quiet: s.quiet,
        }
    }

    fn json(
        &self,
        f: unsafe extern "C" fn(*mut sys::sg_hook, *mut *mut c_char) -> sys::sg_status,
    ) -> Result<String, Error> {
        let mut out = ptr::null_mut();
        // SAFETY: valid handle; on success out is a malloc()ed string we free.
        Error::check(unsafe { f(self.raw.as_ptr(), &mut out) })?;
        let text = c_text(out);
        // SAFETY: allocated by the library with malloc.
        unsafe { sys::free(out as *mut c_void) };
        Ok(text)
    }

    /// The deployment context fetched at start (JSON). Err(NOT_FOUND) before it was fetched.
    pub fn context_json(&self) -> Result<String, Error> {
        self.json(sys::sg_hook_context_json)
    }

    /// The connections this hook holds, as a JSON array.
    pub fn sessions_json(&self) -> Result<String, Error> {
        self.json(sys::sg_hook_sessions_json)
    }

    /// Stops the hook (None: the stop-timeout setting): new requests are refused, queued
    /// ones finish (their events come from the next poll), pending deletes complete or go to
    /// the durable queue, the server's record is removed. Idempotent; Drop does it too.
    pub fn stop(&self, timeout: Option<Duration>) -> Result<(), Error> {
        // SAFETY: valid handle.
        Error::check(unsafe { sys::sg_hook_stop(self.raw.as_ptr(), millis(timeout)) })
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once; no callback runs after this returns, so the
        // event queue may go with the struct.
        unsafe { sys::sg_hook_free(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hook").field("stats", &self.stats()).finish()
    }
}

/// Reads the session id the matchmaker wrote into a connect token's 256 bytes of user data
/// (lightyear hands them over as the `TokenUserData` component, 0.26.4 and later). Err
/// (MALFORMED) when they hold no session id.
pub fn session_from_user_data(user_data: &[u8; 256]) -> Result<String, Error> {
    let mut out = [0 as c_char; 257];
    // SAFETY: 256 readable bytes in, a buffer of the size given out.
    Error::check(unsafe {
        sys::sg_hook_session_from_user_data(user_data.as_ptr(), out.as_mut_ptr(), out.len())
    })?;
    Ok(array_text(&out))
}

// ---------------------------------------------------------------------------------------------
// Logging

/// Levels of the hook's log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Off,
}

impl LogLevel {
    fn raw(self) -> c_int {
        match self {
            LogLevel::Debug => sys::SG_HOOK_LOG_DEBUG,
            LogLevel::Info => sys::SG_HOOK_LOG_INFO,
            LogLevel::Warn => sys::SG_HOOK_LOG_WARN,
            LogLevel::Error => sys::SG_HOOK_LOG_ERROR,
            LogLevel::Off => sys::SG_HOOK_LOG_OFF,
        }
    }

    fn from_raw(l: c_int) -> LogLevel {
        match l {
            sys::SG_HOOK_LOG_DEBUG => LogLevel::Debug,
            sys::SG_HOOK_LOG_INFO => LogLevel::Info,
            sys::SG_HOOK_LOG_WARN => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }
}

/// Lines below this level are dropped (process-wide; default Info).
pub fn set_log_level(level: LogLevel) {
    // SAFETY: takes any level.
    unsafe { sys::sg_hook_log_set_level(level.raw()) }
}

/// What [`set_log_sink`] takes: called with each line's level and text.
pub type LogSink = Box<dyn Fn(LogLevel, &str) + Send + Sync>;
static SINK: RwLock<Option<LogSink>> = RwLock::new(None);

unsafe extern "C" fn to_sink(level: c_int, line: *const c_char, _user: *mut c_void) {
    no_unwind(|| {
        let text = c_text(line);
        if let Some(sink) = SINK.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            sink(LogLevel::from_raw(level), &text);
        }
    });
}

/// Routes the hook's log lines (logfmt text, no trailing newline, never a secret) into the
/// game's logger, process-wide; None restores stderr. The sink runs on the thread that logs
/// (often the hook's worker) and must not call the hook.
pub fn set_log_sink(sink: Option<LogSink>) {
    // SAFETY: detaching waits for a line being delivered, so the old sink is no longer in use.
    unsafe { sys::sg_hook_log_set_sink(None, ptr::null_mut()) };
    let install = sink.is_some();
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = sink;
    if install {
        // SAFETY: to_sink reads SINK, a static.
        unsafe { sys::sg_hook_log_set_sink(Some(to_sink), ptr::null_mut()) };
    }
}

// The README's example compiles and runs as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
