//! What the session may reach, as the flags ask it: its network (`--network`), where it
//! may write and read (`--write`, `--read-only`, `--read`) and a private /tmp
//! (`--private-tmp`); every path checked and made absolute before anything starts.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::machine::error::{Error, Invalid, UsageError};

/// The session's network.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Network {
    /// The host's, as leash's own.
    #[default]
    Host,
    /// A network namespace of its own with only a loopback interface.
    None,
    /// TCP connect and bind only to these ports (sorted, distinct).
    Ports(Vec<u16>),
}

impl Network {
    /// `host`, `none` or `ports=LIST` (comma-separated port numbers) for `--network`.
    pub(crate) fn parse(text: &str) -> Result<Network, Invalid> {
        match text {
            "host" => Ok(Network::Host),
            "none" => Ok(Network::None),
            _ => {
                let Some(list) = text.strip_prefix("ports=") else {
                    return Err(Invalid(format!(
                        "'{text}' is not host, none or ports=LIST (e.g. ports=443,8080)"
                    )));
                };
                let mut ports = list
                    .split(',')
                    .map(|port| {
                        port.trim()
                            .parse::<u16>()
                            .ok()
                            .filter(|p| *p > 0)
                            .ok_or_else(|| {
                                Invalid(format!("'{port}' in '{text}' is not a port (1 to 65535)"))
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                ports.sort_unstable();
                ports.dedup();
                Ok(Network::Ports(ports))
            }
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Network::Host => f.write_str("host"),
            Network::None => f.write_str("none"),
            Network::Ports(ports) => {
                let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                write!(f, "ports={}", list.join(","))
            }
        }
    }
}

/// Where the session may write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Writes {
    /// Anywhere its user may.
    #[default]
    Anywhere,
    /// Only below these paths (none: `--read-only`), the harmless devices and the private
    /// /tmp.
    Below(Vec<PathBuf>),
}

/// What the session may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reach {
    /// `--network`.
    pub(crate) network: Network,
    /// `--write`, `--read-only`.
    pub(crate) writes: Writes,
    /// `--read`: reads and execution only below these paths (and what the command needs).
    pub(crate) reads: Option<Vec<PathBuf>>,
    /// `--private-tmp`: the size of the session's own /tmp and /dev/shm.
    pub(crate) private_tmp: Option<u64>,
}

impl Reach {
    /// The reach the flags ask for, each path made absolute (relative ones are taken from
    /// leash's working directory) and checked to exist.
    pub(crate) fn from_flags(
        network: Network,
        write: &[PathBuf],
        read_only: bool,
        read: &[PathBuf],
        private_tmp: Option<u64>,
    ) -> Result<Reach, Error> {
        let writes = if read_only || !write.is_empty() {
            Writes::Below(absolute("--write", write)?)
        } else {
            Writes::Anywhere
        };
        let reads = if read.is_empty() {
            None
        } else {
            Some(absolute("--read", read)?)
        };
        Ok(Reach {
            network,
            writes,
            reads,
            private_tmp,
        })
    }

    /// The flags that need Landlock's file or network rules, as the user gave them.
    pub(crate) fn landlock_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        match &self.writes {
            Writes::Below(paths) if paths.is_empty() => flags.push("--read-only".to_string()),
            Writes::Below(_) => flags.push("--write".to_string()),
            Writes::Anywhere => {}
        }
        if self.reads.is_some() {
            flags.push("--read".to_string());
        }
        if let Network::Ports(_) = self.network {
            flags.push(format!("--network {}", self.network));
        }
        flags
    }

    /// The paths the session is given that lie strictly below `dir`.
    pub(crate) fn paths_below<'a>(&'a self, dir: &'a Path) -> impl Iterator<Item = &'a PathBuf> {
        let writes = match &self.writes {
            Writes::Below(paths) => paths.as_slice(),
            Writes::Anywhere => &[],
        };
        let reads = self.reads.as_deref().unwrap_or_default();
        writes
            .iter()
            .chain(reads)
            .filter(move |path| path.starts_with(dir) && path.as_path() != dir)
    }
}

/// Each path, absolute and without symbolic links; an error names the flag and the path.
fn absolute(flag: &'static str, paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    paths
        .iter()
        .map(|path| {
            std::fs::canonicalize(path).map_err(|e| {
                Error::Usage(UsageError::Path {
                    flag,
                    path: path.clone(),
                    why: e.to_string(),
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_modes_parse_and_print_back() {
        for text in ["host", "none", "ports=443", "ports=80,443"] {
            assert_eq!(Network::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Network::parse("ports=443,80,443").unwrap(),
            Network::Ports(vec![80, 443])
        );
        for bad in [
            "",
            "off",
            "ports=",
            "ports=0",
            "ports=65536",
            "ports=http",
            "port=1",
        ] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_path_names_its_flag() {
        let error = Reach::from_flags(
            Network::Host,
            &[PathBuf::from("/nonexistent/leash")],
            false,
            &[],
            None,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("--write /nonexistent/leash: "),
            "{error}"
        );
    }
}
