//! Finding the cgroup hierarchies where leash may make a session cgroup: every cgroup
//! mount (`/proc/self/mountinfo`), the cgroup leash runs in there (`/proc/self/cgroup`),
//! and whether that cgroup is writable.

use std::path::{Path, PathBuf};

use nix::unistd::{AccessFlags, access};

use super::{Controller, Hierarchy, Version};
use crate::machine::proc_view::read_proc;

/// A cgroup filesystem mount.
#[derive(Debug, PartialEq, Eq)]
struct Mount {
    version: Version,
    /// Where the hierarchy is mounted.
    point: PathBuf,
    /// Which cgroup of the hierarchy is mounted there (`/` unless a container bind-mounts
    /// only its own subtree).
    root: String,
    /// v1: the controllers of the hierarchy (empty for named hierarchies like systemd's).
    controllers: Vec<Controller>,
    /// v1: every subsystem name of the hierarchy, to match `/proc/self/cgroup` lines.
    names: Vec<String>,
}

/// The hierarchies of this machine with leash's cgroup in each, as seen by this process,
/// not yet checked for writability (see [`probe`]): system calls are the cost of
/// leash's start-up, so only the hierarchies a session needs are probed.
pub(crate) fn detect() -> Vec<Hierarchy> {
    let read = |path| read_proc(path).unwrap_or_default();
    candidates(&read("/proc/self/mountinfo"), &read("/proc/self/cgroup"))
}

/// The writable hierarchies described by a mountinfo and a `/proc/self/cgroup` text.
#[cfg(test)]
fn detect_from(mountinfo: &str, self_cgroup: &str) -> Vec<Hierarchy> {
    candidates(mountinfo, self_cgroup)
        .iter()
        .filter_map(probe)
        .collect()
}

/// The hierarchies described by a mountinfo and a `/proc/self/cgroup` text.
fn candidates(mountinfo: &str, self_cgroup: &str) -> Vec<Hierarchy> {
    let mut seen = Vec::new();
    let mut found = Vec::new();
    for mount in mountinfo.lines().filter_map(parse_mount) {
        // The same hierarchy may be mounted twice; one is enough.
        if seen.contains(&mount.point) {
            continue;
        }
        seen.push(mount.point.clone());
        if let Some(hierarchy) = hierarchy_of(&mount, self_cgroup) {
            found.push(hierarchy);
        }
    }
    found
}

fn hierarchy_of(mount: &Mount, self_cgroup: &str) -> Option<Hierarchy> {
    if mount.version == Version::V1 && mount.controllers.is_empty() {
        return None;
    }
    let own = own_path(mount, self_cgroup)?;
    let relative = Path::new(&own).strip_prefix(&mount.root).ok()?;
    let parent = if relative.as_os_str().is_empty() {
        mount.point.clone()
    } else {
        mount.point.join(relative)
    };
    Some(Hierarchy {
        version: mount.version,
        parent,
        controllers: mount.controllers.clone(),
        enabled: Vec::new(),
    })
}

/// The hierarchy if leash may make a session cgroup in it, with (for v2) the controllers
/// its parent offers and has enabled for children.
pub(crate) fn probe(candidate: &Hierarchy) -> Option<Hierarchy> {
    if !writable(&candidate.parent) {
        return None;
    }
    let mut usable = candidate.clone();
    if usable.version == Version::V2 {
        usable.controllers = controllers_in(&usable.parent.join("cgroup.controllers"));
        usable.enabled = controllers_in(&usable.parent.join("cgroup.subtree_control"));
        if shared_non_root(&usable.parent) {
            // "No internal processes": nothing more can be enabled while others are in it
            // (leash alone can move aside; see the session cgroup).
            usable = usable.enabled_only();
        }
    }
    Some(usable)
}

/// [`probe`], then a cgroup made below the parent and removed again, for `--explain`:
/// access(2) answers for permissions alone, and Landlock (an outer leash's `--write`, say)
/// refuses the mkdir a session cgroup needs. Named as the session's own would be, so that
/// one left behind by a killed leash is removed as a stale session's.
pub(crate) fn probe_by_making(candidate: &Hierarchy) -> Option<Hierarchy> {
    let usable = probe(candidate)?;
    let me = nix::unistd::Pid::this();
    let trial = usable.parent.join(super::session_name(
        me,
        crate::machine::tree::start_time(me)?,
    ));
    std::fs::create_dir(&trial).ok()?;
    let _ = std::fs::remove_dir(&trial);
    Some(usable)
}

/// Whether a v2 cgroup is not the root (which alone may hold processes and still enable
/// controllers; it has no cgroup.type) and holds processes other than leash.
fn shared_non_root(dir: &Path) -> bool {
    dir.join("cgroup.type").exists()
        && read_proc(&dir.join("cgroup.procs").to_string_lossy())
            .unwrap_or_default()
            .lines()
            .any(|pid| pid.trim().parse() != Ok(std::process::id()))
}

/// leash's cgroup in the mount's hierarchy, from a `/proc/self/cgroup` text.
fn own_path(mount: &Mount, self_cgroup: &str) -> Option<String> {
    cgroup_in(self_cgroup, mount.version, |name| {
        mount.names.iter().any(|m| m == name)
    })
    .map(str::to_string)
}

/// A process's cgroup in one hierarchy, from its `/proc/PID/cgroup` text: `0::PATH` for
/// v2, `N:CONTROLLERS:PATH` for the v1 hierarchy with a controller `is_ours` accepts.
pub(super) fn cgroup_in(
    text: &str,
    version: Version,
    is_ours: impl Fn(&str) -> bool,
) -> Option<&str> {
    text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (id, names, path) = (fields.next()?, fields.next()?, fields.next()?);
        let matches = match version {
            Version::V2 => id == "0" && names.is_empty(),
            Version::V1 => !names.is_empty() && names.split(',').any(&is_ours),
        };
        matches.then_some(path)
    })
}

/// A session cgroup can be made below `dir` and processes moved into it: the directory
/// and its cgroup.procs are writable by this process.
fn writable(dir: &Path) -> bool {
    access(dir, AccessFlags::W_OK).is_ok()
        && access(&dir.join("cgroup.procs"), AccessFlags::W_OK).is_ok()
}

fn controllers_in(file: &Path) -> Vec<Controller> {
    read_proc(&file.to_string_lossy())
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(Controller::named)
        .collect()
}

/// A cgroup mount from a mountinfo line:
/// `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS`.
fn parse_mount(line: &str) -> Option<Mount> {
    let (before, after) = line.split_once(" - ")?;
    let fields: Vec<&str> = before.split(' ').collect();
    let (root, point) = (*fields.get(3)?, *fields.get(4)?);
    let mut after = after.split(' ');
    let fstype = after.next()?;
    let super_options = after.nth(1).unwrap_or("");
    let version = match fstype {
        "cgroup2" => Version::V2,
        "cgroup" => Version::V1,
        _ => return None,
    };
    let names: Vec<String> = super_options
        .split(',')
        .filter(|o| Controller::named(o).is_some() || o.starts_with("name="))
        .map(String::from)
        .collect();
    let controllers = names.iter().filter_map(|n| Controller::named(n)).collect();
    Some(Mount {
        version,
        point: PathBuf::from(unescape(point)),
        root: unescape(root),
        controllers,
        names,
    })
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        if let Some(byte) = code {
            out.push(char::from(byte));
            rest = &rest[at + 4..];
        } else {
            out.push('\\');
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn mountinfo_lines_give_version_point_and_controllers() {
        let v1 = parse_mount(
            "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 - cgroup cgroup rw,cpu,cpuacct",
        )
        .unwrap();
        assert_eq!(v1.version, Version::V1);
        assert_eq!(v1.point, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(v1.controllers, vec![Controller::Cpu, Controller::Cpuacct]);
        let v2 =
            parse_mount("41 31 0:38 / /sys/fs/cgroup/my\\040dir rw - cgroup2 cgroup2 rw").unwrap();
        assert_eq!(v2.version, Version::V2);
        assert_eq!(v2.point, PathBuf::from("/sys/fs/cgroup/my dir"));
        assert!(parse_mount("22 1 0:21 / /proc rw - proc proc rw").is_none());
    }

    /// A cgroup v2 tree in a temp dir, as systemd delegates it to a user's scope.
    #[test]
    fn a_delegated_v2_subtree_is_found_from_proc_self_cgroup() {
        let fake = tempfile::tempdir().unwrap();
        let scope = "user.slice/user-1000.slice/user@1000.service/app.slice/run-u7.scope";
        let parent = fake.path().join(scope);
        fs::create_dir_all(&parent).unwrap();
        fs::write(parent.join("cgroup.procs"), "").unwrap();
        fs::write(parent.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        fs::write(parent.join("cgroup.subtree_control"), "memory\n").unwrap();
        fs::write(parent.join("cgroup.type"), "domain\n").unwrap();
        let mountinfo = format!(
            "30 25 0:26 / {} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
            fake.path().display()
        );
        let found = detect_from(&mountinfo, &format!("0::/{scope}\n"));
        assert_eq!(
            found,
            vec![Hierarchy {
                version: Version::V2,
                parent: parent.clone(),
                controllers: vec![Controller::Cpu, Controller::Memory, Controller::Pids],
                enabled: vec![Controller::Memory],
            }]
        );
        // Shared with a login shell: only what is enabled already can be had.
        fs::write(parent.join("cgroup.procs"), "1\n").unwrap();
        let shared = detect_from(&mountinfo, &format!("0::/{scope}\n"));
        assert_eq!(shared[0].controllers, vec![Controller::Memory]);
    }

    #[test]
    fn a_container_mount_root_is_stripped_and_foreign_paths_are_ignored() {
        let fake = tempfile::tempdir().unwrap();
        let inside = fake.path().join("job");
        fs::create_dir_all(&inside).unwrap();
        fs::write(inside.join("cgroup.procs"), "").unwrap();
        let mountinfo = format!(
            "35 31 0:32 /docker/abc {} rw - cgroup cgroup rw,memory\n",
            fake.path().display()
        );
        let found = detect_from(&mountinfo, "4:memory:/docker/abc/job\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].parent, inside);
        assert!(detect_from(&mountinfo, "4:memory:/elsewhere\n").is_empty());
        // No line for the hierarchy at all: not ours to use.
        assert!(detect_from(&mountinfo, "8:pids:/\n").is_empty());
    }
}
