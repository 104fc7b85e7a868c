//! The Landlock ruleset that holds where the session may write and read (`--write`,
//! `--read-only`, `--read`) and which TCP ports it may connect to and bind
//! (`--network ports=`), built for the kernel's ABI; the rights that ABI lacks are named,
//! never silently dropped.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access as _, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetError, path_beneath_rules,
};

use super::Missing;
use super::reach::{Network, Reach, Writes};

/// Devices every session may write (and read): what programs open for output, and the
/// terminal.
pub(crate) const DEVICES: [&str; 5] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/pts",
];

/// Read under `--read` whatever the paths given: the dynamic loader, the system's
/// libraries and their cache, randomness, and /proc.
pub(crate) const SYSTEM_READS: [&str; 11] = [
    "/lib",
    "/lib32",
    "/lib64",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/local/lib",
    "/etc/ld.so.cache",
    "/dev/urandom",
    "/dev/random",
    "/proc",
];

/// The private /tmp's mount points, writable under `--private-tmp` (granted by the child:
/// see [`Access::file_rights`]).
pub(crate) const PRIVATE_TMP: [&str; 2] = ["/tmp", "/dev/shm"];

/// Rights later ABIs hold that an earlier one lacks, each with the ABI it came with.
/// (Before ABI 2 linking and renaming across directories is refused altogether: stricter,
/// not weaker, so not listed.)
const LATER_RIGHTS: [(i32, &str); 3] = [
    (3, "truncating files"),
    (5, "ioctl on devices"),
    (9, "connecting to pathname unix sockets"),
];

/// A ruleset made, and what it holds.
#[derive(Debug)]
pub(crate) struct Access {
    /// The ruleset (close-on-exec).
    pub(crate) ruleset: OwnedFd,
    /// The kernel's Landlock ABI it was built for.
    pub(crate) abi: i32,
    /// What the flags asked for that this ABI cannot hold, as `--explain` says it.
    pub(crate) not_held: Vec<String>,
    /// Read under `--read` besides the paths given: the command and its interpreters.
    pub(crate) command_reads: Vec<PathBuf>,
    /// The file rights the ruleset handles (Landlock's bits), all of which the private
    /// /tmp is granted (by the child, once it is mounted: a rule on the directory below
    /// would not reach into a file system mounted on it).
    pub(crate) file_rights: u64,
}

/// The ruleset `reach` needs, for `program` (the resolved command), on a kernel of Landlock
/// `abi`.
pub(crate) fn ruleset(reach: &Reach, program: Option<&Path>, abi: i32) -> Result<Access, Missing> {
    let ports = match &reach.network {
        Network::Ports(_) if abi < 4 => return Err(Missing::NoNetworkRules(abi)),
        Network::Ports(ports) => ports.as_slice(),
        _ => &[],
    };
    let version = ABI::from(abi);
    let mut handled = BitFlags::EMPTY;
    if reach.writes != Writes::Anywhere {
        handled |= AccessFs::from_write(version);
    }
    if reach.reads.is_some() {
        handled |= AccessFs::from_read(version);
    }
    let command_reads = program.map(interpreters).unwrap_or_default();
    let built = build(reach, handled, ports, version, &command_reads)
        .map_err(|e| Missing::NoRuleset(e.to_string()))?
        .ok_or(Missing::NoLandlock)?;
    Ok(Access {
        ruleset: built,
        file_rights: handled.bits(),
        abi,
        not_held: not_held(reach, abi),
        command_reads,
    })
}

/// Create the ruleset: `handled` file rights, TCP if `ports`, and the rules that grant.
fn build(
    reach: &Reach,
    handled: BitFlags<AccessFs>,
    ports: &[u16],
    version: ABI,
    command_reads: &[PathBuf],
) -> Result<Option<OwnedFd>, RulesetError> {
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
    if !handled.is_empty() {
        ruleset = ruleset.handle_access(handled)?;
    }
    let network = reach.network != Network::Host;
    if network {
        ruleset = ruleset.handle_access(AccessNet::from_all(version))?;
    }
    let mut created = ruleset.create()?;
    let read = handled & AccessFs::from_read(version);
    for (paths, rights) in grants(reach, command_reads) {
        let rights = if rights == Grant::Read { read } else { handled };
        if !rights.is_empty() {
            created = created.add_rules(path_beneath_rules(paths, rights))?;
        }
    }
    if network {
        for &port in ports {
            created = created.add_rule(NetPort::new(port, AccessNet::from_all(version)))?;
        }
    }
    Ok(Option::<OwnedFd>::from(created))
}

/// What a group of paths is granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grant {
    /// Reading and executing only.
    Read,
    /// Everything the ruleset handles.
    All,
}

/// The paths granted, and what.
fn grants(reach: &Reach, command_reads: &[PathBuf]) -> Vec<(Vec<PathBuf>, Grant)> {
    let owned = |paths: &[&str]| paths.iter().map(PathBuf::from).collect::<Vec<_>>();
    let mut grants = vec![(owned(&DEVICES), Grant::All)];
    if let Writes::Below(paths) = &reach.writes {
        grants.push((paths.clone(), Grant::All));
    }
    if let Some(paths) = &reach.reads {
        grants.push((paths.clone(), Grant::Read));
        grants.push((owned(&SYSTEM_READS), Grant::Read));
        grants.push((command_reads.to_vec(), Grant::Read));
    }
    grants
}

/// What this ABI lacks of what the flags ask for.
fn not_held(reach: &Reach, abi: i32) -> Vec<String> {
    if reach.writes == Writes::Anywhere {
        return Vec::new();
    }
    LATER_RIGHTS
        .iter()
        .filter(|(since, _)| abi < *since)
        .map(|(since, what)| format!("{what} (Landlock ABI {since})"))
        .collect()
}

/// The program and the interpreters it names: `#!` lines, followed through `env`, up to
/// a few levels deep.
pub(crate) fn interpreters(program: &Path) -> Vec<PathBuf> {
    let mut found = vec![program.to_path_buf()];
    let mut next = program.to_path_buf();
    for _ in 0..4 {
        let interpreters = shebang(&next);
        let Some(last) = interpreters.last().cloned() else {
            break;
        };
        found.extend(interpreters);
        next = last;
    }
    found
}

/// The interpreter a `#!` line names, and through `/usr/bin/env NAME` also NAME as found
/// on PATH.
fn shebang(script: &Path) -> Vec<PathBuf> {
    let Some((interpreter, name)) = shebang_line(script) else {
        return Vec::new();
    };
    let through_env = name
        .and_then(|name| crate::machine::command_path::resolve(std::ffi::OsStr::new(&name)).ok())
        .and_then(|path| std::fs::canonicalize(path).ok());
    std::iter::once(interpreter).chain(through_env).collect()
}

/// A `#!` line's interpreter and, when that is `env`, the name it runs.
fn shebang_line(script: &Path) -> Option<(PathBuf, Option<String>)> {
    use std::io::Read as _;
    let mut head = [0u8; 256];
    // Only a regular file has a `#!` line; a FIFO named as the command is not waited on.
    let length = crate::machine::small_file::open_regular(script)
        .ok()?
        .read(&mut head)
        .ok()?;
    let line = head[..length].strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let interpreter = PathBuf::from(words.next()?);
    let name = interpreter
        .file_name()
        .is_some_and(|name| name == "env")
        .then(|| words.find(|word| !word.starts_with('-')).map(String::from))
        .flatten();
    Some((interpreter, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_brings_its_interpreter_through_env() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("script");
        std::fs::write(&script, "#!/usr/bin/env -S sh -e\necho hi\n").unwrap();
        let found = interpreters(&script);
        assert_eq!(found[0], script);
        assert_eq!(found[1], Path::new("/usr/bin/env"));
        assert!(found[2].to_string_lossy().ends_with("sh"), "{found:?}");
    }

    #[test]
    fn an_older_abi_names_what_it_cannot_hold() {
        let reach = Reach {
            writes: Writes::Below(Vec::new()),
            ..Reach::default()
        };
        let missing = not_held(&reach, 1).join("; ");
        assert!(
            missing.contains("truncating files (Landlock ABI 3)"),
            "{missing}"
        );
        assert!(not_held(&reach, 9).is_empty());
        assert!(not_held(&Reach::default(), 1).is_empty());
    }
}
