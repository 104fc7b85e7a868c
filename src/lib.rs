//! leash: run a command as a supervised session whose limits hold for its whole process
//! tree, and stop every process it started when it ends.
//!
//! Three layers, each a folder, each naming only the layers below it:
//! - `machine`: the machine and its formats, with no policy;
//! - `session`: the supervisor, which runs one command as a session;
//! - `front`: the front ends (leash's command line, the personalities, `leashctl`).
//!
//! A session goes through six phases, each a module of its own:
//! 1. parse: `front::cli`, with the layers below the command line in `front::cli::config`;
//! 2. plan: `session::plan`, what `--explain` prints;
//! 3. start: `session::start`, with `session::spawn` for the child;
//! 4. watch: `session::watch`;
//! 5. stop: `session::stop`;
//! 6. finish: `session::finish`, with `session::record` for the session's record.

mod front;
mod machine;
mod session;

use std::ffi::OsString;

use front::cli::{self, Invocation};
use front::generate;
use front::{ctl, personality};
use machine::error::Error;
use machine::exit::Exit;
use machine::exit::LEASH_FAILED;
use machine::stdout;
use session::spec::Spec;
use session::{message, record};

/// The built-in `interpreter` profile, as the manual quotes it.
pub use front::cli::config::BUILT_IN;

/// `leash`, from C's `main` (see `machine::entry`): parse the process's arguments, do what
/// they ask for, and end as the session did: return its exit code, or die of its signal.
pub fn run() -> i32 {
    machine::entry::run(|| leash(std::env::args_os()).finish())
}

/// `leashctl`, from C's `main`: parse the process's arguments (its own name first), act on
/// the sessions they name, and return its exit code.
pub fn run_ctl() -> i32 {
    machine::entry::run(|| ctl::run(std::env::args_os()).finish())
}

/// leash itself: how it must exit.
fn leash(args: impl IntoIterator<Item = OsString>) -> Exit {
    let clock = record::Clock::start();
    let args: Vec<OsString> = args.into_iter().collect();
    if args
        .first()
        .is_some_and(|argv0| personality::agent_shell::is_invoked_as(argv0))
    {
        return personality::agent_shell::run(&args[1..], leash_for_agent);
    }
    if let Some(personality) = args.first().and_then(personality::Personality::of) {
        return personality.run(&args[1..]);
    }
    let done = match cli::parse(args.clone()) {
        Ok(Invocation::Run(settings)) => return session::run(&settings),
        Ok(Invocation::Explain(settings)) => explain(&settings),
        Ok(Invocation::PrintConfig(text)) => stdout::write(&text).map_err(|e| Error::Write(e.0)),
        Ok(Invocation::Generate(artifact)) => {
            generate::write(artifact, &mut std::io::stdout()).map_err(Error::Write)
        }
        // --help and --version: clap prints them as they are; a write that fails is said.
        Err(Error::Clap(e)) if !e.use_stderr() => {
            return match e.print() {
                Ok(()) => Exit::Code(0),
                Err(error) => {
                    message::error(&stdout::WriteError(error).to_string());
                    Exit::Code(LEASH_FAILED)
                }
            };
        }
        Err(e) => {
            record_unparsed(&clock, &args, &e);
            Err(e)
        }
    };
    match done {
        Ok(()) => Exit::Code(0),
        Err(e) => {
            message::error(&e);
            Exit::Code(machine::exit::code_after(&e))
        }
    }
}

/// leash for one command of a coding agent (leash as its shell): as leash, but the report
/// is written only when leash stopped the command, as only such a one is ever read (by the
/// agent's failure hook, for leash's reason); a file made for every command cost each
/// some 0.6 ms.
fn leash_for_agent(args: Vec<OsString>) -> Exit {
    match cli::parse(args.clone()) {
        Ok(Invocation::Run(mut settings)) => {
            settings.report_only_on_breach = true;
            session::run(&settings)
        }
        _ => leash(args),
    }
}

/// A command line that did not parse still leaves the record it asks for (as far as it
/// can be read: the command line's own `--report`, `--audit-log` and `--metrics`).
fn record_unparsed(clock: &record::Clock, args: &[OsString], error: &Error) {
    let to = record::destinations::Destinations::in_args(args);
    if to.any() && to.check().is_ok() {
        let subject = record::Subject::in_args(args);
        let record = record::Record::new(
            clock,
            &subject,
            Vec::new(),
            &record::Course::NotStarted(error),
        );
        let _ = record::publish::publish(&record, &to);
    }
}

/// `--explain`: print the plan of a session of `settings`, running nothing.
fn explain(settings: &Spec) -> Result<(), Error> {
    let plan = session::Plan::to_explain(settings)?;
    let text = cli::explain::explanation(&plan.rows, plan.cgroup.as_ref(), settings);
    stdout::write(&text).map_err(|e| Error::Write(e.0))
}
