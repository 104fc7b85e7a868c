//! `leashctl kernel`: install, list and remove Jupyter kernelspecs whose kernel runs
//! under leash behind the launcher (launcher.py), with per-cell budgets.

mod check;
mod spec;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::CtlError;
use crate::machine::error::Invalid;
use crate::machine::units::parse_positive_duration;

/// The launcher the kernelspec starts in place of the kernel.
const LAUNCHER: &str = include_str!("launcher.py");

/// What `leashctl kernel` does.
#[derive(Debug, Subcommand)]
pub(crate) enum KernelAction {
    /// Write a kernelspec whose kernel runs under leash with LEASH_OPTIONS (given after
    /// --), each cell within --cell-wall and --cell-cpu: a cell that breaches a limit or
    /// a budget gets leash's reason as an error output, and the next cell runs.
    Install(Install),
    /// List the kernelspecs leashctl installed, where a frontend would find them.
    List {
        /// Look in DIR/share/jupyter/kernels too.
        #[arg(long, value_name = "DIR")]
        prefix: Option<PathBuf>,
    },
    /// Remove a kernelspec leashctl installed (and nothing else).
    Remove {
        /// The kernel's name.
        #[arg(value_parser = kernel_name)]
        name: String,
        #[command(flatten)]
        place: Place,
    },
}

/// Where a kernelspec goes: the user's Jupyter data directory, or a prefix's.
#[derive(Debug, Args)]
pub(crate) struct Place {
    /// In the user's Jupyter data directory, $JUPYTER_DATA_DIR or
    /// ~/.local/share/jupyter (the default).
    #[arg(long, conflicts_with = "prefix")]
    user: bool,
    /// In DIR/share/jupyter/kernels: for one frontend alone, started with
    /// JUPYTER_PATH=DIR/share/jupyter.
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
}

/// `leashctl kernel install`'s options.
#[derive(Debug, Args)]
pub(crate) struct Install {
    /// The kernel's name: its directory, what `--kernel` and notebooks ask for.
    #[arg(long, default_value = "leash-python3", value_parser = kernel_name)]
    name: String,
    /// The name frontends show [default: "Python 3 (leash ...)" with the limits].
    #[arg(long, value_name = "TEXT")]
    display_name: Option<String>,
    /// The interpreter that runs the kernel: it must have ipykernel [default: the first
    /// python3 on PATH].
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: PathBuf,
    #[command(flatten)]
    place: Place,
    /// Wall-clock time each cell may run, from when the launcher passes it on: then it
    /// is interrupted (and the kernel restarted if it ignores that for --cell-grace).
    #[arg(long, value_name = "DURATION", value_parser = Budget::parse)]
    cell_wall: Option<Budget>,
    /// CPU time each cell may use (its kernel's and every process it starts).
    #[arg(long, value_name = "DURATION", value_parser = Budget::parse)]
    cell_cpu: Option<Budget>,
    /// How long an interrupted cell has to stop before its kernel is stopped.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = Budget::parse)]
    cell_grace: Budget,
    /// Replace a kernelspec of that name.
    #[arg(long)]
    force: bool,
    /// leash's options for the kernel's whole life (after --): limits, isolation,
    /// records, e.g. -- --mem 4G --procs 64.
    #[arg(last = true, value_name = "LEASH_OPTION")]
    leash_options: Vec<String>,
}

/// A per-cell budget: as given, and as a duration.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    text: String,
    duration: Duration,
}

impl Budget {
    fn parse(text: &str) -> Result<Budget, Invalid> {
        Ok(Budget {
            text: text.to_string(),
            duration: parse_positive_duration(text)?,
        })
    }

    fn seconds(&self) -> String {
        self.duration.as_secs_f64().to_string()
    }
}

/// A kernel name as jupyter_client accepts one.
fn kernel_name(text: &str) -> Result<String, Invalid> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if text.is_empty() || !text.chars().all(valid) {
        return Err(Invalid(format!(
            "`{text}` is not a kernel name: letters, digits, `.`, `_` and `-` only"
        )));
    }
    // A directory below the kernels' directory: `.` and `..` would be that directory
    // itself and the one above it (every kernelspec, the Jupyter data directory).
    if text.chars().all(|c| c == '.') {
        return Err(Invalid(format!(
            "`{text}` is not a kernel name: it names a directory, not a kernel's"
        )));
    }
    Ok(text.to_string())
}

/// Carry out `leashctl kernel ACTION`.
pub(crate) fn run(action: KernelAction) -> Result<(), CtlError> {
    match action {
        KernelAction::Install(install) => self::install(&install),
        KernelAction::List { prefix } => spec::list(prefix.as_deref(), LAUNCHER),
        KernelAction::Remove { name, place } => {
            let removed = spec::remove(&spec::kernels_dir(&place)?.join(&name), &name)?;
            super::out(&format!("removed kernel {name} ({})\n", removed.display()))
        }
    }
}

fn install(install: &Install) -> Result<(), CtlError> {
    if install.name == "python3" && install.place.prefix.is_none() {
        return Err(CtlError::Usage(
            "kernel install: --name python3 would replace the python3 kernel of every \
             frontend of yours; give --prefix DIR and JUPYTER_PATH=DIR/share/jupyter to \
             the one frontend that should use it"
                .into(),
        ));
    }
    let dir = spec::kernels_dir(&install.place)?.join(&install.name);
    spec::trusted(&dir, "install")?;
    if dir.exists() && !install.force {
        return Err(CtlError::Usage(format!(
            "kernel install: {} exists: remove it (leashctl kernel remove {}) or give --force",
            dir.display(),
            install.name
        )));
    }
    let python = check::python(&install.python)?;
    let leash = super::leash_beside("kernel install")?;
    check::leash_options(&leash, &install.leash_options, &python)?;
    let leashctl = std::env::current_exe().map_err(|e| {
        CtlError::Incomplete(format!(
            "kernel install: cannot tell where leashctl is: {e}"
        ))
    })?;
    let written = spec::KernelSpec {
        dir: &dir,
        python: &python,
        leash: &leash,
        leashctl: &leashctl,
        install,
    };
    written.write(LAUNCHER)?;
    super::out(&format!(
        "installed kernel {} in {}: pick \"{}\" in the notebook, or run jupyter console \
         --kernel {}\n",
        install.name,
        dir.display(),
        written.display_name(),
        install.name
    ))
}
