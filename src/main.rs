//! The `leash` command: parse, run, exit as the session did.

use std::process::ExitCode;

fn main() -> ExitCode {
    leash::run(std::env::args_os())
}
