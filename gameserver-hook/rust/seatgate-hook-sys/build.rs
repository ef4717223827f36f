//! Finds the seatgate gameserver hook C library and tells cargo how to link it.
//!
//! The library is found through pkg-config (the `.pc` files `cmake --install` writes):
//!
//! - `SEATGATE_HOOK_PREFIX`: the install prefix (`cmake --install build --prefix DIR`); its
//!   `lib/pkgconfig` (or `lib64/`, `lib/<multiarch>/`) is searched before `PKG_CONFIG_PATH`.
//!   Without it, pkg-config's own search path is used (`/usr/local` after a default install).
//! - `SEATGATE_HOOK_STATIC=1`: link the self-contained static archive
//!   (`seatgate-gameserver-hook-static`) and Debian's shared libraries it uses, so the game
//!   binary needs no seatgate library at run time. Default: the shared library.
//! - `PKG_CONFIG`: the pkg-config program (default `pkg-config`).
//!
//! The library directory is passed to dependent build scripts as
//! `DEP_SEATGATE_GAMESERVER_HOOK_LIBDIR` (the safe crate uses it to set an rpath on its own
//! tests and examples).
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn pkgconfig_dirs(prefix: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![prefix.join("lib/pkgconfig"), prefix.join("lib64/pkgconfig")];
    if let Ok(entries) = std::fs::read_dir(prefix.join("lib")) {
        for e in entries.flatten() {
            let p = e.path().join("pkgconfig");
            if p.join("seatgate-gameserver-hook.pc").exists() {
                dirs.push(p);
            }
        }
    }
    dirs.into_iter().filter(|d| d.join("seatgate-gameserver-hook.pc").exists()).collect()
}

fn main() {
    for var in ["SEATGATE_HOOK_PREFIX", "SEATGATE_HOOK_STATIC", "PKG_CONFIG_PATH", "PKG_CONFIG"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let statik = matches!(env::var("SEATGATE_HOOK_STATIC").as_deref(), Ok("1" | "true" | "yes"));
    let package =
        if statik { "seatgate-gameserver-hook-static" } else { "seatgate-gameserver-hook" };

    let mut search = Vec::new();
    if let Some(prefix) = env::var_os("SEATGATE_HOOK_PREFIX") {
        let prefix = PathBuf::from(prefix);
        search = pkgconfig_dirs(&prefix);
        if search.is_empty() {
            panic!(
                "seatgate-hook-sys: SEATGATE_HOOK_PREFIX={} holds no lib/pkgconfig/\
                 seatgate-gameserver-hook.pc (install it with `cmake --install BUILD --prefix {}`)",
                prefix.display(),
                prefix.display()
            );
        }
    }
    if let Some(old) = env::var_os("PKG_CONFIG_PATH") {
        search.extend(env::split_paths(&old));
    }
    let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let mut cmd = Command::new(&program);
    if !search.is_empty() {
        cmd.env("PKG_CONFIG_PATH", env::join_paths(&search).expect("PKG_CONFIG_PATH"));
    }
    // No --static: the static package names the hook's archive and Debian's shared libraries
    // it uses (their own private dependencies are theirs to load).
    let out = match cmd.args(["--libs", package]).output() {
        Ok(o) => o,
        Err(e) => {
            panic!("seatgate-hook-sys: cannot run {program}: {e} (apt-get install pkg-config)")
        }
    };
    if !out.status.success() {
        panic!(
            "seatgate-hook-sys: pkg-config does not find {package}: {}\n\
             Install the hook (cmake --install BUILD --prefix DIR) and set SEATGATE_HOOK_PREFIX=DIR, \
             or add DIR/lib/pkgconfig to PKG_CONFIG_PATH.",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let libs = String::from_utf8(out.stdout).expect("pkg-config output is not UTF-8");
    let mut libdir = None;
    for word in libs.split_whitespace() {
        if let Some(dir) = word.strip_prefix("-L") {
            println!("cargo::rustc-link-search=native={dir}");
            if libdir.is_none() {
                libdir = Some(dir.to_string());
            }
        } else if let Some(name) = word.strip_prefix("-l") {
            println!("cargo::rustc-link-lib={name}");
        } else if word.ends_with(".a") {
            // The static .pc names the archive by its path.
            let path = Path::new(word);
            let dir = path.parent().expect("archive directory");
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("archive name");
            println!("cargo::rustc-link-search=native={}", dir.display());
            println!("cargo::rustc-link-lib=static={}", stem.trim_start_matches("lib"));
            libdir = Some(dir.display().to_string());
        }
    }
    if let Some(dir) = libdir {
        println!("cargo::metadata=libdir={dir}");
    }
    println!("cargo::metadata=static={}", if statik { 1 } else { 0 });
}
