//! The `leashctl` command: see and act on running leash sessions.

use std::process::ExitCode;

fn main() -> ExitCode {
    leash::run_ctl(std::env::args_os())
}
