//! Raw declarations of the seatgate gameserver hook C library
//! (`seatgate/gameserver_hook.h`, `seatgate/status.h`), one to one. Use the `seatgate-hook`
//! crate for a safe API; this one is for those who want the C calls themselves.
//!
//! The library is found at build time through pkg-config: see `build.rs` for
//! `SEATGATE_HOOK_PREFIX` and `SEATGATE_HOOK_STATIC`. Every item mirrors the header; the
//! header's comments are the reference for what each call does.
#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_void};

/// `sg_status`: 0 is success, anything else an error kind.
pub type sg_status = c_int;
pub const SG_OK: sg_status = 0;
pub const SG_E_INVALID: sg_status = 1;
pub const SG_E_NOMEM: sg_status = 2;
pub const SG_E_TOO_LARGE: sg_status = 3;
pub const SG_E_TRUNCATED: sg_status = 4;
pub const SG_E_MALFORMED: sg_status = 5;
pub const SG_E_DECRYPT: sg_status = 6;
pub const SG_E_PROTOCOL_ID: sg_status = 7;
pub const SG_E_VERSION: sg_status = 8;
pub const SG_E_EXPIRED: sg_status = 9;
pub const SG_E_ADDR_COUNT: sg_status = 10;
pub const SG_E_ADDR_TYPE: sg_status = 11;
pub const SG_E_TIMESTAMPS: sg_status = 12;
pub const SG_E_NOT_FOUND: sg_status = 13;
pub const SG_E_EXISTS: sg_status = 14;
pub const SG_E_CONFLICT: sg_status = 15;
pub const SG_E_UNAVAILABLE: sg_status = 16;
pub const SG_E_TIMEOUT: sg_status = 17;
pub const SG_E_IO: sg_status = 18;
pub const SG_E_FULL: sg_status = 19;
pub const SG_E_BAD_REQUEST: sg_status = 20;
pub const SG_E_UNAUTHORIZED: sg_status = 21;
pub const SG_E_GONE: sg_status = 22;
pub const SG_E_RATE_LIMITED: sg_status = 23;
pub const SG_E_SERVER: sg_status = 24;
pub const SG_E_NETWORK: sg_status = 25;
pub const SG_E_INTERNAL: sg_status = 26;
pub const SG_E_HELP: sg_status = 27;
pub const SG_STATUS_COUNT: sg_status = 28;

pub const SG_HOOK_VERSION_MAJOR: u32 = 0;
pub const SG_HOOK_VERSION_MINOR: u32 = 2;
pub const SG_HOOK_VERSION_TEXT: &str = "0.2.0";

/// `sg_hook_log_level`.
pub type sg_hook_log_level = c_int;
pub const SG_HOOK_LOG_DEBUG: sg_hook_log_level = 0;
pub const SG_HOOK_LOG_INFO: sg_hook_log_level = 1;
pub const SG_HOOK_LOG_WARN: sg_hook_log_level = 2;
pub const SG_HOOK_LOG_ERROR: sg_hook_log_level = 3;
pub const SG_HOOK_LOG_OFF: sg_hook_log_level = 4;

/// `sg_hook_reason`.
pub type sg_hook_reason = c_int;
pub const SG_HOOK_ACCEPTED: sg_hook_reason = 0;
pub const SG_HOOK_REJECT_INVALID: sg_hook_reason = 1;
pub const SG_HOOK_REJECT_UNKNOWN_CLIENT: sg_hook_reason = 2;
pub const SG_HOOK_REJECT_SESSION_MISMATCH: sg_hook_reason = 3;
pub const SG_HOOK_REJECT_SESSION_GONE: sg_hook_reason = 4;
pub const SG_HOOK_REJECT_SESSION_NOT_READY: sg_hook_reason = 5;
pub const SG_HOOK_REJECT_IP_MISMATCH: sg_hook_reason = 6;
pub const SG_HOOK_REJECT_WRONG_SERVER_IP: sg_hook_reason = 7;
pub const SG_HOOK_REJECT_WRONG_SERVER_ID: sg_hook_reason = 8;
pub const SG_HOOK_REJECT_ALREADY_CONNECTED: sg_hook_reason = 9;
pub const SG_HOOK_REJECT_UNAVAILABLE: sg_hook_reason = 10;
pub const SG_HOOK_REJECT_RATE_LIMITED: sg_hook_reason = 11;
pub const SG_HOOK_REJECT_IP_LIMIT: sg_hook_reason = 12;
pub const SG_HOOK_REJECT_BAD_SEAT_TOKEN: sg_hook_reason = 13;
pub const SG_HOOK_REJECT_SERVER_FULL: sg_hook_reason = 14;
pub const SG_HOOK_REASON_COUNT: usize = 15;

/// `sg_hook_disconnect_reason`.
pub type sg_hook_disconnect_reason = c_int;
pub const SG_HOOK_DISCONNECT_GOODBYE: sg_hook_disconnect_reason = 0;
pub const SG_HOOK_DISCONNECT_TIMEOUT: sg_hook_disconnect_reason = 1;
pub const SG_HOOK_DISCONNECT_KICKED: sg_hook_disconnect_reason = 2;
pub const SG_HOOK_DISCONNECT_SERVER_STOP: sg_hook_disconnect_reason = 3;
pub const SG_HOOK_DISCONNECT_ERROR: sg_hook_disconnect_reason = 4;
pub const SG_HOOK_DISCONNECT_REASON_COUNT: c_int = 5;

/// Opaque `sg_hook_options`.
#[repr(C)]
pub struct sg_hook_options {
    _private: [u8; 0],
}

/// Opaque `sg_hook`.
#[repr(C)]
pub struct sg_hook {
    _private: [u8; 0],
}

/// `sg_hook_verdict`: strings are NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sg_hook_verdict {
    pub client_id: u64,
    pub accepted: i32,
    pub reason: i32,
    pub session_id: [c_char; 256],
    pub source_ip: [c_char; 64],
    pub message: [c_char; 256],
}

/// `sg_hook_stats`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct sg_hook_stats {
    pub verifies: u64,
    pub accepted: u64,
    pub rejected: [u64; SG_HOOK_REASON_COUNT],
    pub disconnects: u64,
    pub deletes_done: u64,
    pub deletes_queued: u64,
    pub events_published: u64,
    pub full: u64,
    pub players: u32,
    pub pending: u32,
    pub started: i32,
    pub stopped: i32,
    pub quiet: u64,
}

pub type sg_hook_log_fn =
    Option<unsafe extern "C" fn(level: c_int, line: *const c_char, user: *mut c_void)>;
pub type sg_hook_verify_fn =
    Option<unsafe extern "C" fn(verdict: *const sg_hook_verdict, user: *mut c_void)>;
pub type sg_hook_done_fn =
    Option<unsafe extern "C" fn(client_id: u64, status: sg_status, user: *mut c_void)>;

unsafe extern "C" {
    // status.h
    pub fn sg_status_name(st: sg_status) -> *const c_char;
    pub fn sg_last_error() -> *const c_char;

    // options
    pub fn sg_hook_options_new(out: *mut *mut sg_hook_options) -> sg_status;
    pub fn sg_hook_options_free(o: *mut sg_hook_options);
    pub fn sg_hook_options_set(
        o: *mut sg_hook_options,
        name: *const c_char,
        value: *const c_char,
    ) -> sg_status;
    pub fn sg_hook_options_load_env(o: *mut sg_hook_options) -> sg_status;
    pub fn sg_hook_options_get(o: *const sg_hook_options, name: *const c_char) -> *const c_char;
    pub fn sg_hook_options_count() -> usize;
    pub fn sg_hook_options_name(index: usize) -> *const c_char;
    pub fn sg_hook_options_describe(
        index: usize,
        env: *mut *const c_char,
        def: *mut *const c_char,
        help: *mut *const c_char,
        secret: *mut bool,
    ) -> bool;
    pub fn sg_hook_options_type(index: usize, kind: *mut *const c_char) -> bool;

    // logging
    pub fn sg_hook_log_set_level(level: sg_hook_log_level);
    pub fn sg_hook_log_set_sink(f: sg_hook_log_fn, user: *mut c_void);

    // verdicts
    pub fn sg_hook_reason_name(reason: sg_hook_reason) -> *const c_char;
    pub fn sg_hook_disconnect_reason_name(reason: c_int) -> *const c_char;

    // lifecycle
    pub fn sg_hook_new(options: *const sg_hook_options, out: *mut *mut sg_hook) -> sg_status;
    pub fn sg_hook_wait_started(h: *mut sg_hook, timeout_ms: c_int) -> sg_status;
    pub fn sg_hook_stop(h: *mut sg_hook, timeout_ms: c_int) -> sg_status;
    pub fn sg_hook_free(h: *mut sg_hook);

    // game-loop calls
    pub fn sg_hook_verify(
        h: *mut sg_hook,
        client_id: u64,
        source_ip: *const c_char,
        session_id: *const c_char,
        cb: sg_hook_verify_fn,
        user: *mut c_void,
    ) -> sg_status;
    pub fn sg_hook_session_from_user_data(
        user_data: *const u8,
        out: *mut c_char,
        size: usize,
    ) -> sg_status;
    pub fn sg_hook_disconnect(
        h: *mut sg_hook,
        client_id: u64,
        reason: c_int,
        cb: sg_hook_done_fn,
        user: *mut c_void,
    ) -> sg_status;
    pub fn sg_hook_publish_score(
        h: *mut sg_hook,
        client_id: u64,
        kind: *const c_char,
        value: i64,
        target_client_id: u64,
        cb: sg_hook_done_fn,
        user: *mut c_void,
    ) -> sg_status;
    pub fn sg_hook_poll(h: *mut sg_hook, max: c_int) -> c_int;
    pub fn sg_hook_poll_fd(h: *const sg_hook) -> c_int;

    // blocking variants
    pub fn sg_hook_verify_wait(
        h: *mut sg_hook,
        client_id: u64,
        source_ip: *const c_char,
        session_id: *const c_char,
        timeout_ms: c_int,
        out: *mut sg_hook_verdict,
    ) -> sg_status;
    pub fn sg_hook_disconnect_wait(
        h: *mut sg_hook,
        client_id: u64,
        reason: c_int,
        timeout_ms: c_int,
    ) -> sg_status;

    // inspection
    pub fn sg_hook_get_stats(h: *mut sg_hook, out: *mut sg_hook_stats);
    pub fn sg_hook_context_json(h: *mut sg_hook, out: *mut *mut c_char) -> sg_status;
    pub fn sg_hook_sessions_json(h: *mut sg_hook, out: *mut *mut c_char) -> sg_status;

    // the C allocator, for the strings sg_hook_*_json hand over
    pub fn free(p: *mut c_void);
}
