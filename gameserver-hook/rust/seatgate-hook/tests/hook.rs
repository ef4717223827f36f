//! The safe API against the real library, with no platform: settings, names, the queue bound
//! and stopping. The live path (a real player through the matchmaker) is the example's test,
//! tests/rust/run.sh.
use std::net::IpAddr;
use std::time::Duration;

use seatgate_hook::{
    DisconnectReason, Event, Hook, Options, Reason, Status, session_from_user_data,
};

fn temp_db(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("seatgate-hook-rs-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("store.db").display())
}

/// A hook whose platform never answers (nothing listens on port 1): its start never finishes,
/// so requests stay queued.
fn stalled_options(name: &str, queue: &str) -> Options {
    let mut o = Options::new().unwrap();
    o.set("store-url", &temp_db(name))
        .unwrap()
        .set("arbitrium-context-url", "http://127.0.0.1:1/v1/context/x/1")
        .unwrap()
        .set("arbitrium-context-token", "context-token-0123456789")
        .unwrap()
        .set("queue-size", queue)
        .unwrap()
        .set("stop-timeout", "200ms")
        .unwrap()
        .set("log-level", "error")
        .unwrap();
    o
}

#[test]
fn reasons_and_statuses_have_the_library_names() {
    let expected = [
        "accepted",
        "invalid",
        "unknown_client",
        "session_mismatch",
        "session_gone",
        "session_not_ready",
        "ip_mismatch",
        "wrong_server_ip",
        "wrong_server_id",
        "already_connected",
        "unavailable",
        "rate_limited",
        "ip_limit",
        "bad_seat_token",
        "server_full",
    ];
    assert_eq!(expected.len(), seatgate_hook::sys::SG_HOOK_REASON_COUNT);
    let reasons = [
        Reason::Accepted,
        Reason::Invalid,
        Reason::UnknownClient,
        Reason::SessionMismatch,
        Reason::SessionGone,
        Reason::SessionNotReady,
        Reason::IpMismatch,
        Reason::WrongServerIp,
        Reason::WrongServerId,
        Reason::AlreadyConnected,
        Reason::Unavailable,
        Reason::RateLimited,
        Reason::IpLimit,
        Reason::BadSeatToken,
        Reason::ServerFull,
    ];
    assert_eq!(reasons.len(), expected.len());
    for (i, (r, name)) in reasons.iter().zip(expected).enumerate() {
        assert_eq!(r.raw(), i as i32, "{r:?}");
        assert_eq!(r.name(), name, "{r:?}");
    }
    assert_eq!(Status::FULL.name(), "full");
    assert_eq!(Status::UNAVAILABLE.name(), "unavailable");
    assert_eq!(Status::NOT_FOUND.name(), "not_found");
    let d = [
        (DisconnectReason::Goodbye, "goodbye"),
        (DisconnectReason::Timeout, "timeout"),
        (DisconnectReason::Kicked, "kicked"),
        (DisconnectReason::ServerStop, "server_stop"),
        (DisconnectReason::Error, "error"),
    ];
    for (r, name) in d {
        assert_eq!(r.name(), name);
    }
}

#[test]
fn options_are_checked_by_name_and_value() {
    let mut o = Options::new().unwrap();
    assert_eq!(o.get("queue-size").as_deref(), Some("1024"));
    o.set("queue-size", "16").unwrap();
    assert_eq!(o.get("queue-size").as_deref(), Some("16"));
    o.unset("queue-size").unwrap();
    assert_eq!(o.get("queue-size").as_deref(), Some("1024"));

    let e = o.set("no-such-setting", "1").unwrap_err();
    assert_eq!(e.status(), Status::INVALID);
    assert!(e.message().contains("no-such-setting"), "{e}");
    assert_eq!(o.get("no-such-setting"), None);

    let e = o.set("queue-size", "lots").unwrap_err();
    assert_eq!(e.status(), Status::INVALID);
    assert!(e.message().contains("queue-size"), "{e}");

    // A secret reads back as "(set)" and its value is never in an error.
    o.set("edgegap-api-key", "token-abcdefghijklmnop").unwrap();
    assert_eq!(o.get("edgegap-api-key").as_deref(), Some("(set)"));
    assert!(!format!("{o:?}").contains("abcdefghijklmnop"));

    let e = o.set("store-url", "nul\0inside").unwrap_err();
    assert!(e.message().contains("NUL"), "{e}");

    let names = Options::names();
    assert!(names.contains(&"store-url") && names.contains(&"arbitrium-context-url"), "{names:?}");
}

#[test]
fn a_hook_needs_its_deployment_context() {
    let mut o = Options::new().unwrap();
    o.set("store-url", &temp_db("noctx")).unwrap();
    let e = Hook::new(&o).unwrap_err();
    assert_eq!(e.status(), Status::INVALID);
    assert!(e.message().contains("ARBITRIUM_CONTEXT_URL"), "{e}");

    // A bad secret is refused at start, and its value is not in the message.
    let mut o = stalled_options("badkey", "8");
    o.set("edgegap-api-key", "has space inside it!").unwrap();
    let e = Hook::new(&o).unwrap_err();
    assert_eq!(e.status(), Status::INVALID);
    assert!(e.message().contains("edgegap-api-key"), "{e}");
    assert!(!e.message().contains("has space"), "{e}");
}

#[test]
fn a_full_queue_and_a_stopped_hook_refuse_at_once() {
    let hook = Hook::new(&stalled_options("full", "2")).unwrap();
    let ip: IpAddr = "203.0.113.7".parse().unwrap();
    hook.verify(11, ip, Some("sess-a")).unwrap();
    hook.verify(12, ip, None).unwrap();
    let e = hook.verify(13, ip, None).unwrap_err();
    assert!(e.is_full(), "{e}");
    assert!(!e.is_stopping());
    let s = hook.stats();
    assert_eq!(s.full, 1);
    assert_eq!(s.pending, 2);
    assert!(!s.started);

    // Stopping finishes the queued requests as refusals, delivered by poll.
    let _ = hook.stop(Some(Duration::from_millis(500)));
    let e = hook.verify(14, ip, None).unwrap_err();
    assert!(e.is_stopping(), "{e}");
    let e = hook.disconnect(11, DisconnectReason::Kicked).unwrap_err();
    assert!(e.is_stopping(), "{e}");
    let mut verdicts = Vec::new();
    for _ in 0..100 {
        hook.poll(|ev| {
            if let Event::Verdict(v) = ev {
                verdicts.push(v)
            }
        });
        if verdicts.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    verdicts.sort_by_key(|v| v.client_id);
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert_eq!(verdicts[0].client_id, 11);
    assert_eq!(verdicts[1].client_id, 12);
    for v in &verdicts {
        assert!(!v.accepted);
        assert_eq!(v.reason, Reason::Unavailable);
        assert_eq!(v.source_ip, "203.0.113.7");
        assert!(!v.message.is_empty());
    }
    assert!(hook.stats().stopped);
    assert_eq!(hook.events().count(), 0);
}

#[test]
fn bad_input_is_refused_before_it_is_queued() {
    let hook = Hook::new(&stalled_options("bad", "8")).unwrap();
    let ip: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
    let e = hook.verify(21, ip, Some("bad\0id")).unwrap_err();
    assert_eq!(e.error().status(), Status::INVALID);
    let e = hook.publish_score(21, "sco\0re", 1, None).unwrap_err();
    assert_eq!(e.error().status(), Status::INVALID);
    assert_eq!(hook.stats().pending, 0);
    assert!(hook.context_json().is_err()); // not fetched: the platform never answered
}

#[test]
fn the_session_id_is_read_from_the_user_data() {
    // Written here the way the matchmaker writes it: a length byte, then the id's ASCII.
    let id = b"9f2c1d-demo-session";
    let mut ud = [0u8; 256];
    ud[0] = id.len() as u8;
    ud[1..=id.len()].copy_from_slice(id);
    assert_eq!(session_from_user_data(&ud).unwrap(), "9f2c1d-demo-session");

    let e = session_from_user_data(&[0u8; 256]).unwrap_err();
    assert_eq!(e.status(), Status::MALFORMED);
    ud[3] = b' '; // outside '!'..'~'
    assert_eq!(session_from_user_data(&ud).unwrap_err().status(), Status::MALFORMED);
}
