//! leash: run a command as a supervised session whose limits hold for its whole process
//! tree, and stop every process it started when it ends.

pub mod accounting;
pub mod cgroup;
pub mod cli;
pub mod config;
pub mod exit;
pub mod explain;
pub mod generate;
pub mod kill;
pub mod limits;
pub mod privilege;
pub mod publish;
pub mod quota;
pub mod record;
pub mod relay;
pub mod report;
pub mod session;
pub mod signals;
pub mod slots;
pub mod spawn;
pub mod supervise;
pub mod terminal;
pub mod tree;
pub mod units;

use std::ffi::OsString;

use cli::Invocation;
use exit::{Exit, LEASH_FAILED};

/// Parse `args`, run what they ask for, and say how leash must exit.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Exit {
    match cli::parse(args) {
        Ok(Invocation::Run(settings)) => supervise::run_session(&settings),
        Ok(Invocation::PrintConfig(text)) => {
            print!("{text}");
            Exit::Code(0)
        }
        Ok(Invocation::Generate(artifact)) => {
            match generate::write(artifact, &mut std::io::stdout()) {
                Ok(()) => Exit::Code(0),
                Err(e) => fail(&format!("cannot write: {e}")),
            }
        }
        Err(e) if e.is_request_for_information() => match e {
            cli::ParseError::Clap(e) => {
                Exit::Code(if e.print().is_ok() { 0 } else { LEASH_FAILED })
            }
            cli::ParseError::Invalid(_) => Exit::Code(LEASH_FAILED),
        },
        Err(e) => fail(&e.one_line()),
    }
}

fn fail(message: &str) -> Exit {
    report::error(message);
    Exit::Code(LEASH_FAILED)
}
