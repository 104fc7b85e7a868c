//! The `leashctl` command: see and act on running leash sessions.
//!
//! C's `main`, not Rust's, as leash's: Claude Code runs its hook before every command.
#![no_main]

use std::ffi::{c_char, c_int};

/// The program's entry, called by the C library with the arguments `std::env` also reads.
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    leash::run_ctl()
}
