//! Gives this crate's own tests and examples an rpath to the hook library that
//! seatgate-hook-sys found, so they run without LD_LIBRARY_PATH when it is installed outside
//! the loader's paths. A game binary depending on this crate does the same in its own
//! build.rs, links statically (SEATGATE_HOOK_STATIC=1), or installs the library where the
//! loader looks (/usr/local/lib after `cmake --install` and `ldconfig`).
fn main() {
    println!("cargo::rerun-if-env-changed=DEP_SEATGATE_GAMESERVER_HOOK_LIBDIR");
    let shared = std::env::var("DEP_SEATGATE_GAMESERVER_HOOK_STATIC").as_deref() != Ok("1");
    if let (true, Ok(dir)) = (shared, std::env::var("DEP_SEATGATE_GAMESERVER_HOOK_LIBDIR")) {
        println!("cargo::rustc-link-arg-tests=-Wl,-rpath,{dir}");
        println!("cargo::rustc-link-arg-examples=-Wl,-rpath,{dir}");
    }
}
