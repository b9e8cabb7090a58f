//! Packs the `smelt` binary's relative relocations (`-z pack-relative-relocs`, "RELR") where the
//! toolchain and the C library allow it.
//!
//! The binary is position-independent, so the loader patches ~230,000 pointers (vtables,
//! string tables) at every start, reading 5.5 MB of 24-byte relocation records to do it: 75 % of
//! an idle `smelt serve`'s page faults, and ~5 MB of its resident memory (BENCHMARKS.md,
//! "Serving"). RELR encodes the same relocations as bitmaps of a few hundred kB. It needs GNU ld
//! ≥ 2.38 (or lld) to link and glibc ≥ 2.36 to run, so it is used only when building on such a
//! Linux system for itself (a binary built here runs where glibc is as new, e.g. Debian 12, the
//! Docker image's base). `SMELT_NO_RELR=1` turns it off.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SMELT_NO_RELR");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let native_linux_gnu = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("HOST") == var("TARGET");
    if native_linux_gnu && std::env::var_os("SMELT_NO_RELR").is_none() && glibc_ok() && ld_ok() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The version numbers after `prefix` in a command's first output line, if it ran.
fn version(cmd: &str, args: &[&str], prefix: &str) -> Option<(u32, u32)> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?;
    let v = line.rsplit(prefix).next()?.split_whitespace().next()?;
    let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// glibc ≥ 2.36 runs RELR binaries.
fn glibc_ok() -> bool {
    version("getconf", &["GNU_LIBC_VERSION"], "glibc ").is_some_and(|v| v >= (2, 36))
}

/// GNU ld ≥ 2.38 writes them (the linker `cc` calls by default).
fn ld_ok() -> bool {
    version("ld", &["--version"], ") ").is_some_and(|v| v >= (2, 38))
}
