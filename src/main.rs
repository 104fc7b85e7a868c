//! The `leash` command: parse, run, exit as the session did.
//!
//! C's `main`, not Rust's: the Rust runtime's start-up costs every start a tenth of a
//! millisecond (see the library's `machine::entry`).
#![no_main]

use std::ffi::{c_char, c_int};

/// The program's entry, called by the C library with the arguments `std::env` also reads.
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    leash::run()
}
