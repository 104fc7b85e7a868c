//! Kernelspecs on disk: where Jupyter looks for them, the kernel.json leashctl writes
//! (marked as leash's in its metadata), and finding and removing those again.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Install, Place};
use crate::front::ctl::{CtlError, replace_file};

/// The directory of kernelspecs `place` names.
pub(crate) fn kernels_dir(place: &Place) -> Result<PathBuf, CtlError> {
    if let Some(prefix) = &place.prefix {
        return Ok(prefix.join("share/jupyter/kernels"));
    }
    user_data_dir()
        .map(|dir| dir.join("kernels"))
        .ok_or_else(|| {
            CtlError::Usage("kernel: no HOME, so no user directory: give --prefix".into())
        })
}

/// jupyter_core's data directory: $JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter, else
/// ~/.local/share/jupyter.
fn user_data_dir() -> Option<PathBuf> {
    crate::front::ctl::env_dir("JUPYTER_DATA_DIR")
        .or_else(|| Some(crate::front::ctl::user_data_home()?.join("jupyter")))
}

/// The kernelspec `install` describes, to be written in `dir`.
pub(crate) struct KernelSpec<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) python: &'a Path,
    pub(crate) leash: &'a Path,
    /// This leashctl, which the launcher asks for the session's CPU time.
    pub(crate) leashctl: &'a Path,
    pub(crate) install: &'a Install,
}

impl KernelSpec<'_> {
    /// The launcher's command line, as the frontend runs it.
    fn argv(&self) -> Vec<String> {
        let text = |path: &Path| path.to_string_lossy().into_owned();
        let install = self.install;
        let mut argv = vec![
            text(self.python),
            text(&self.dir.join("launcher.py")),
            "--leash".into(),
            text(self.leash),
            "--leashctl".into(),
            text(self.leashctl),
        ];
        for (flag, budget) in [
            ("--cell-wall", &install.cell_wall),
            ("--cell-cpu", &install.cell_cpu),
        ] {
            if let Some(budget) = budget {
                argv.extend([
                    flag.into(),
                    budget.seconds(),
                    format!("{flag}-text"),
                    budget.text.clone(),
                ]);
            }
        }
        argv.extend(["--grace".into(), install.cell_grace.seconds()]);
        argv.extend(["-f".into(), "{connection_file}".into(), "--".into()]);
        argv.extend(install.leash_options.iter().cloned());
        argv
    }

    /// What frontends show: the given name, else the limits in short.
    pub(crate) fn display_name(&self) -> String {
        if let Some(name) = &self.install.display_name {
            return name.clone();
        }
        let mut parts = self.install.leash_options.clone();
        for (what, budget) in [
            ("cell wall", &self.install.cell_wall),
            ("cell CPU", &self.install.cell_cpu),
        ] {
            if let Some(budget) = budget {
                parts.push(format!("{what} {}", budget.text));
            }
        }
        if parts.is_empty() {
            "Python 3 (leash)".into()
        } else {
            format!("Python 3 (leash {})", parts.join(" "))
        }
    }

    /// Write kernel.json and the launcher, replacing what an earlier install left.
    pub(crate) fn write(&self, launcher: &str) -> Result<(), CtlError> {
        let install = self.install;
        let spec = json!({
            "argv": self.argv(),
            "display_name": self.display_name(),
            "language": "python",
            "interrupt_mode": "message",
            "metadata": {
                "leash": {
                    "leash_version": env!("CARGO_PKG_VERSION"),
                    "leash_options": install.leash_options,
                    "cell_wall": install.cell_wall.as_ref().map(|b| &b.text),
                    "cell_cpu": install.cell_cpu.as_ref().map(|b| &b.text),
                    "cell_grace": install.cell_grace.text,
                    "python": self.python,
                }
            }
        });
        let failed = |e: std::io::Error| {
            CtlError::Incomplete(format!("kernel install: {}: {e}", self.dir.display()))
        };
        fs::create_dir_all(self.dir).map_err(failed)?;
        // Made now: a directory another user swapped in on the way is seen here.
        trusted(self.dir, "install")?;
        let text = serde_json::to_string_pretty(&spec).unwrap_or_default() + "\n";
        replace_file(&self.dir.join("launcher.py"), launcher, 0o644).map_err(failed)?;
        replace_file(&self.dir.join("kernel.json"), &text, 0o644).map_err(failed)
    }
}

/// Refuse a kernel directory another user may change: they could replace the launcher
/// its user's frontend runs, or have `install` and `remove` write or delete through a
/// link of theirs.
pub(crate) fn trusted(dir: &Path, action: &str) -> Result<(), CtlError> {
    match crate::machine::owned_path::open_to_others(dir) {
        None => Ok(()),
        Some(open) => Err(CtlError::Usage(format!(
            "kernel {action}: {} may be changed by {}: a kernel must live where only its \
             user (and root) can change it",
            open.dir.display(),
            open.whom
        ))),
    }
}

/// The leash metadata of the kernelspec in `dir`, if leashctl wrote it.
fn leash_metadata(dir: &Path) -> Option<Value> {
    let text = fs::read_to_string(dir.join("kernel.json")).ok()?;
    let spec: Value = serde_json::from_str(&text).ok()?;
    spec.pointer("/metadata/leash").cloned()
}

/// Where frontends look for kernelspecs, in their order: JUPYTER_PATH, the user's
/// directory, the system's (and `prefix`'s, if given).
fn search_path(prefix: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(prefix) = prefix {
        dirs.push(prefix.join("share/jupyter"));
    }
    if let Some(path) = std::env::var_os("JUPYTER_PATH") {
        dirs.extend(std::env::split_paths(&path).filter(|d| !d.as_os_str().is_empty()));
    }
    dirs.extend(user_data_dir());
    dirs.extend(["/usr/local/share/jupyter", "/usr/share/jupyter"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join("kernels")).collect()
}

/// Which leash wrote the kernelspec in `dir` (with metadata `leash`), marked stale where
/// another version wrote it or its launcher is not the one this leashctl carries: the
/// frontend would run an old launcher until the kernel is installed again.
fn written_by(dir: &Path, leash: &Value, launcher: &str) -> String {
    let version = leash.get("leash_version").and_then(Value::as_str);
    let same_launcher = fs::read_to_string(dir.join("launcher.py")).is_ok_and(|l| l == launcher);
    match version {
        Some(v) if v == env!("CARGO_PKG_VERSION") && same_launcher => v.to_string(),
        Some(v) if v == env!("CARGO_PKG_VERSION") => format!("{v} (stale launcher: reinstall)"),
        Some(v) => format!("{v} (stale: reinstall)"),
        None => "older (stale: reinstall)".to_string(),
    }
}

/// Print one line per kernelspec leashctl installed: name, budgets, options, the leash
/// that wrote it, directory. `launcher` is the launcher this leashctl installs.
pub(crate) fn list(prefix: Option<&Path>, launcher: &str) -> Result<(), CtlError> {
    let mut rows = vec![
        [
            "NAME",
            "CELL WALL",
            "CELL CPU",
            "LEASH OPTIONS",
            "WRITTEN BY",
            "DIRECTORY",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for kernels in search_path(prefix) {
        let Ok(entries) = fs::read_dir(&kernels) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            let Some(leash) = leash_metadata(&dir) else {
                continue;
            };
            let field = |key: &str| {
                leash
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_string()
            };
            let options = leash
                .get("leash_options")
                .and_then(Value::as_array)
                .map_or_else(String::new, |o| {
                    o.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                });
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            rows.push(vec![
                name,
                field("cell_wall"),
                field("cell_cpu"),
                options,
                written_by(&dir, &leash, launcher),
                dir.display().to_string(),
            ]);
        }
    }
    crate::front::ctl::out(&crate::front::ctl::list::aligned(&rows))
}

/// Remove the kernelspec in `dir` if leashctl wrote it; where it was.
pub(crate) fn remove(dir: &Path, name: &str) -> Result<PathBuf, CtlError> {
    trusted(dir, "remove")?;
    if !dir.join("kernel.json").exists() {
        return Err(CtlError::Usage(format!(
            "kernel remove: no kernel {name} in {}",
            dir.display()
        )));
    }
    if leash_metadata(dir).is_none() {
        return Err(CtlError::Usage(format!(
            "kernel remove: {} is not a kernel leashctl installed: left alone",
            dir.display()
        )));
    }
    fs::remove_dir_all(dir)
        .map_err(|e| CtlError::Incomplete(format!("kernel remove: {}: {e}", dir.display())))?;
    Ok(dir.to_path_buf())
}
