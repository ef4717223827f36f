//! Prints the size and field offsets of the structs as this crate declares them, one per
//! line, in the format tests/rust/layout.c prints them from the C header: the test suite
//! compares the two outputs.
use core::mem::{offset_of, size_of};
use seatgate_hook_sys::{self as sys, sg_hook_stats, sg_hook_verdict};

fn main() {
    println!("sg_hook_verdict size {}", size_of::<sg_hook_verdict>());
    println!("sg_hook_verdict client_id {}", offset_of!(sg_hook_verdict, client_id));
    println!("sg_hook_verdict accepted {}", offset_of!(sg_hook_verdict, accepted));
    println!("sg_hook_verdict reason {}", offset_of!(sg_hook_verdict, reason));
    println!("sg_hook_verdict session_id {}", offset_of!(sg_hook_verdict, session_id));
    println!("sg_hook_verdict source_ip {}", offset_of!(sg_hook_verdict, source_ip));
    println!("sg_hook_verdict message {}", offset_of!(sg_hook_verdict, message));
    println!("sg_hook_stats size {}", size_of::<sg_hook_stats>());
    println!("sg_hook_stats verifies {}", offset_of!(sg_hook_stats, verifies));
    println!("sg_hook_stats accepted {}", offset_of!(sg_hook_stats, accepted));
    println!("sg_hook_stats rejected {}", offset_of!(sg_hook_stats, rejected));
    println!("sg_hook_stats disconnects {}", offset_of!(sg_hook_stats, disconnects));
    println!("sg_hook_stats deletes_done {}", offset_of!(sg_hook_stats, deletes_done));
    println!("sg_hook_stats deletes_queued {}", offset_of!(sg_hook_stats, deletes_queued));
    println!("sg_hook_stats events_published {}", offset_of!(sg_hook_stats, events_published));
    println!("sg_hook_stats full {}", offset_of!(sg_hook_stats, full));
    println!("sg_hook_stats players {}", offset_of!(sg_hook_stats, players));
    println!("sg_hook_stats pending {}", offset_of!(sg_hook_stats, pending));
    println!("sg_hook_stats started {}", offset_of!(sg_hook_stats, started));
    println!("sg_hook_stats stopped {}", offset_of!(sg_hook_stats, stopped));
    println!("sg_hook_stats quiet {}", offset_of!(sg_hook_stats, quiet));
    println!("SG_HOOK_REASON_COUNT {}", sys::SG_HOOK_REASON_COUNT);
    println!("SG_STATUS_COUNT {}", sys::SG_STATUS_COUNT);
    println!("SG_E_FULL {}", sys::SG_E_FULL);
    println!("SG_E_UNAVAILABLE {}", sys::SG_E_UNAVAILABLE);
    println!("SG_HOOK_REJECT_IP_LIMIT {}", sys::SG_HOOK_REJECT_IP_LIMIT);
    println!("SG_HOOK_DISCONNECT_REASON_COUNT {}", sys::SG_HOOK_DISCONNECT_REASON_COUNT);
    println!("SG_HOOK_LOG_OFF {}", sys::SG_HOOK_LOG_OFF);
}
