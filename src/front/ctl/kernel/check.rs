//! What `leashctl kernel install` checks before it writes anything: the interpreter has
//! ipykernel, leash is at hand, and leash takes the options on this machine.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::front::ctl::CtlError;

/// The interpreter as an absolute path (not resolved through links: a virtualenv's
/// python is a link, and only its own name finds the virtualenv's packages), with
/// ipykernel, jupyter_client and pyzmq importable.
pub(crate) fn python(given: &Path) -> Result<PathBuf, CtlError> {
    let refused =
        |e: &dyn std::fmt::Display| CtlError::Usage(format!("kernel install: --python: {e}"));
    let found =
        crate::machine::command_path::resolve(given.as_os_str()).map_err(|e| refused(&e))?;
    let absolute = std::path::absolute(&found).map_err(|e| refused(&e))?;
    let imported = Command::new(&absolute)
        .args(["-c", "import ipykernel, jupyter_client, zmq"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match imported {
        Ok(status) if status.success() => Ok(absolute),
        Ok(_) => Err(CtlError::Usage(format!(
            "kernel install: --python {} has no ipykernel (pip install ipykernel there, or \
             name another interpreter)",
            absolute.display()
        ))),
        Err(e) => Err(CtlError::Usage(format!(
            "kernel install: --python {}: {e}",
            absolute.display()
        ))),
    }
}

/// The options the launcher gives the kernel's leash itself.
const LAUNCHERS_OWN: [&str; 3] = ["--die-with-parent", "--on-sigint", "--report"];

/// What the launcher gives leash itself: an option that clashes with one of them (a
/// second --report) is refused at install, not by every kernel start.
fn refuse_the_launchers_own(options: &[String]) -> Result<(), CtlError> {
    let own = |option: &String| LAUNCHERS_OWN.contains(&option.split('=').next().unwrap_or(""));
    match options.iter().find(|o| own(o)) {
        Some(option) => Err(CtlError::Usage(format!(
            "kernel install: leash options: {option} is the launcher's own (it gives {}): \
             leave it out",
            LAUNCHERS_OWN.join(", ")
        ))),
        None => Ok(()),
    }
}

/// leash accepts `options` for the kernel, names no command in them, and can enforce
/// them here: its own parser first, then `leash --explain` as the kernel would run.
pub(crate) fn leash_options(
    leash: &Path,
    options: &[String],
    python: &Path,
) -> Result<(), CtlError> {
    let refused = |why: String| CtlError::Usage(format!("kernel install: leash options: {why}"));
    refuse_the_launchers_own(options)?;
    let mut args: Vec<OsString> = vec!["leash".into()];
    args.extend(options.iter().map(OsString::from));
    args.extend(
        [
            "--die-with-parent",
            "--on-sigint",
            "forward",
            "--explain",
            "--",
        ]
        .map(Into::into),
    );
    args.push(python.into());
    match crate::front::cli::parse(args.clone()) {
        Ok(crate::front::cli::Invocation::Explain(settings))
            if settings.command == [python.as_os_str()] =>
        {
            if settings.limits.idle.is_some() || settings.limits.output.is_some() {
                return Err(refused(
                    "--idle and --output see no cell's output (it travels over ZeroMQ, not \
                     the kernel's stdout): give --cell-wall"
                        .into(),
                ));
            }
        }
        Ok(_) => return Err(refused("give options only, no command and no --".into())),
        Err(e) => return Err(refused(e.to_string())),
    }
    let explained = Command::new(leash)
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| CtlError::Incomplete(format!("kernel install: {}: {e}", leash.display())))?;
    if explained.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&explained.stderr);
    let line = said
        .lines()
        .next()
        .unwrap_or("refused")
        .trim_start_matches("leash: ");
    Err(refused(line.to_string()))
}
