//! Starting the command: resolve it on PATH, prepare everything the child needs, fork (into
//! the session's v2 cgroup where the kernel can), and learn whether the exec worked.
//!
//! Everything that allocates happens here, before `fork`; the child's side until `exec`
//! is `child`'s. A close-on-exec pipe tells the parent whether the exec succeeded, and if
//! not, which step failed and why.

mod child;

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork, getpid, pipe2, setpgid};

use crate::confinement::{Confinement, Request};
use crate::error::Error;
use crate::isolation::Isolation;
use crate::rlimit::ResolvedRlimit;
use child::{REPORT_LEN, Step, exec_child};

/// What the child must do before it execs, prepared in the parent.
pub struct Launch {
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    rlimits: Vec<ResolvedRlimit>,
    take_terminal: bool,
    /// How the child enters the session's cgroup: before anything else, so nothing of
    /// the command ever runs outside.
    cgroup: CgroupEntry,
    /// What becomes the child's stdout and stderr (the output relay's ends); `None`:
    /// leash's own, inherited as they are.
    output: Option<OutputFds>,
    /// User, group, `no_new_privs`, descriptors, directory, umask, niceness.
    confinement: Confinement,
    /// The Landlock ruleset that scopes the session (owned by the plan, close-on-exec).
    landlock: Option<RawFd>,
    /// The seccomp filter's program.
    filter: Option<seccompiler::BpfProgram>,
}

/// How the child enters the session's cgroup.
#[derive(Clone, Debug, Default)]
pub struct CgroupEntry {
    /// A cgroup v2 directory the child is created in (clone3 with CLONE_INTO_CGROUP: no
    /// migration, which costs the kernel an RCU grace period), and that directory's
    /// cgroup.procs for a kernel that cannot (before Linux 5.7).
    pub born_into: Option<BornInto>,
    /// Open cgroup.procs files the child writes itself into (cgroup v1).
    pub join: Vec<RawFd>,
}

/// A cgroup v2 directory to create the child in, open.
#[derive(Clone, Copy, Debug)]
pub struct BornInto {
    /// The directory, for clone3.
    pub dir: RawFd,
    /// Its cgroup.procs, for the child to write itself into where clone3 cannot.
    pub procs: RawFd,
}

/// The descriptors that become the child's stdout and stderr.
#[derive(Clone, Copy, Debug)]
pub struct OutputFds {
    /// For fd 1.
    pub stdout: RawFd,
    /// For fd 2.
    pub stderr: RawFd,
}

/// clone3's argument (linux/sched.h, version 2 with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

impl Launch {
    /// Resolve `command[0]` on PATH as `execvp` would and prepare the exec arguments.
    /// With `take_terminal`, the child makes its group the terminal's foreground group;
    /// it starts in the session's cgroup as `cgroup` says.
    pub fn new(
        command: &[std::ffi::OsString],
        rlimits: Vec<ResolvedRlimit>,
        take_terminal: bool,
        cgroup: CgroupEntry,
        output: Option<OutputFds>,
        request: &Request,
        isolation: &Isolation,
    ) -> Result<Self, Error> {
        let confinement = Confinement::resolve(request)?;
        let name = command
            .first()
            .ok_or_else(|| Error::Setup("no command given".into()))?;
        let program = resolve(name)?;
        let c_string = |s: &OsStr| {
            CString::new(s.as_bytes())
                .map_err(|_| Error::Setup(format!("{} contains a NUL byte", s.to_string_lossy())))
        };
        let argv = command
            .iter()
            .map(|a| c_string(a))
            .collect::<Result<_, _>>()?;
        let envp = crate::environment::environment(request)
            .into_iter()
            .map(|(key, value)| {
                let mut pair = key;
                pair.push("=");
                pair.push(value);
                c_string(&pair)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            program: c_string(program.as_os_str())?,
            argv,
            envp,
            rlimits,
            take_terminal,
            cgroup,
            output,
            confinement,
            landlock: isolation
                .scope
                .as_ref()
                .ok()
                .map(|scope| scope.ruleset.as_raw_fd()),
            filter: isolation.filter.as_ref().ok().cloned(),
        })
    }

    /// Fork and exec the command in a new process group. Returns once the exec succeeded.
    pub fn spawn(&self) -> Result<Pid, Error> {
        let argv = null_terminated(&self.argv);
        let envp = null_terminated(&self.envp);
        let (report_read, report_write) = pipe2(OFlag::O_CLOEXEC)
            .map_err(|e| Error::Setup(format!("cannot create a pipe: {e}")))?;
        let supervisor = getpid();
        // SAFETY: leash is single-threaded here, and the child runs only `exec_child`, which
        // makes async-signal-safe system calls on memory prepared before the fork.
        match unsafe { self.fork() } {
            Err(e) => Err(Error::Setup(format!("cannot fork: {e}"))),
            Ok((ForkResult::Child, born_in_cgroup)) => {
                drop(report_read);
                // SAFETY: in the child of a fork; see `exec_child`.
                unsafe {
                    exec_child(
                        self,
                        supervisor,
                        born_in_cgroup,
                        &argv,
                        &envp,
                        &report_write,
                    )
                }
            }
            Ok((ForkResult::Parent { child }, _)) => {
                drop(report_write);
                // Also set the group from this side, as job-control shells do, so the group
                // exists whichever of parent and child runs first. Fails harmlessly (EACCES)
                // once the child has exec'd.
                let _ = setpgid(child, child);
                if self.take_terminal {
                    let _ = nix::unistd::tcsetpgrp(std::io::stdin(), child);
                }
                self.await_exec(child, &report_read)
            }
        }
    }

    /// Fork, straight into the session's v2 cgroup where the kernel can; returns also
    /// whether the child was born in it.
    ///
    /// # Safety
    /// As `fork`: the caller must be single-threaded, and the child must only make
    /// async-signal-safe calls until it execs.
    unsafe fn fork(&self) -> nix::Result<(ForkResult, bool)> {
        if let Some(BornInto { dir, .. }) = self.cgroup.born_into {
            let args = CloneArgs {
                flags: CLONE_INTO_CGROUP,
                exit_signal: Signal::SIGCHLD as u64,
                cgroup: u64::try_from(dir).unwrap_or(u64::MAX),
                ..CloneArgs::default()
            };
            // SAFETY: clone3 without CLONE_VM is a fork whose child starts in the cgroup;
            // `args` lives across the call and its size is passed. The child runs only
            // async-signal-safe calls (the caller's contract) and never returns from
            // `exec_child`, so glibc's fork bookkeeping it skips is never needed.
            let pid = unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    &raw const args,
                    std::mem::size_of::<CloneArgs>(),
                )
            };
            match pid {
                0 => return Ok((ForkResult::Child, true)),
                child if child > 0 => {
                    let child = Pid::from_raw(i32::try_from(child).unwrap_or(i32::MAX));
                    return Ok((ForkResult::Parent { child }, true));
                }
                // ENOSYS, E2BIG, EINVAL: an older kernel; fork and migrate instead.
                _ => {}
            }
        }
        // SAFETY: the caller's contract.
        unsafe { fork() }.map(|result| (result, false))
    }

    /// Read the child's report: end of file means the exec succeeded.
    fn await_exec(&self, child: Pid, report: &OwnedFd) -> Result<Pid, Error> {
        let mut buf = [0u8; REPORT_LEN];
        let mut filled = 0;
        while filled < buf.len() {
            match nix::unistd::read(report, &mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::Setup(format!("cannot read from the child: {e}"))),
            }
        }
        if filled == 0 {
            return Ok(child);
        }
        let _ = waitpid(child, None);
        let errno = Errno::from_raw(i32::from_ne_bytes([buf[2], buf[3], buf[4], buf[5]]));
        Err(self.describe_failure(Step::from_code(buf[0]), buf[1], errno))
    }

    /// The error for a failed `step` of the child (`index`: which rlimit).
    fn describe_failure(&self, step: Option<Step>, index: u8, errno: Errno) -> Error {
        let program = OsStr::from_bytes(self.program.as_bytes()).to_os_string();
        let setup = |what: &str| Error::Setup(format!("{what}: {errno}"));
        match step {
            Some(Step::Exec) if errno == Errno::ENOENT => Error::NotFound(program),
            Some(Step::Exec) => Error::CannotExecute(program, errno),
            Some(Step::Rlimit) => {
                let limit = self
                    .rlimits
                    .get(usize::from(index))
                    .map_or_else(String::new, ToString::to_string);
                setup(&format!("cannot set rlimit {limit}"))
            }
            Some(Step::ProcessGroup) => setup("cannot start a process group"),
            Some(Step::Signals) => setup("cannot reset signals"),
            Some(Step::Cgroup) => setup("cannot enter the session's cgroup"),
            Some(Step::Output) => setup("cannot connect the output relay"),
            Some(Step::Identity) => setup("--user/--group: cannot change identity"),
            Some(Step::Directory) => setup("--chdir: cannot change directory"),
            Some(Step::Nice) => setup("--nice: cannot change niceness"),
            Some(Step::NoNewPrivs) => setup("cannot set no_new_privs"),
            Some(Step::Landlock) => setup("cannot enter the session's Landlock scope"),
            Some(Step::Seccomp) => setup("cannot install the seccomp filter"),
            None => setup("the child failed at an unknown step"),
        }
    }
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Find the program as `execvp` would: a name with a slash is used as it is; otherwise
/// the first executable regular file of that name in a PATH directory.
fn resolve(name: &OsStr) -> Result<PathBuf, Error> {
    if name.is_empty() {
        return Err(Error::NotFound(name.into()));
    }
    if name.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(name));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut denied = None;
    for dir in std::env::split_paths(&path) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(name);
        match executable(&candidate) {
            Some(true) => return Ok(candidate),
            Some(false) => denied = denied.or(Some(candidate)),
            None => {}
        }
    }
    // As execvp: a file that exists but cannot be run is reported as such (126).
    match denied {
        Some(candidate) => Err(Error::CannotExecute(candidate.into(), Errno::EACCES)),
        None => Err(Error::NotFound(name.into())),
    }
}

/// `None` if there is no regular file at `path`, else whether it can be executed.
fn executable(path: &Path) -> Option<bool> {
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() {
        return None;
    }
    let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
    // access(2) answers for this process's real ids, as the exec will be checked.
    Some(
        metadata.permissions().mode() & 0o111 != 0
            && nix::unistd::access(c_path.as_c_str(), nix::unistd::AccessFlags::X_OK).is_ok(),
    )
}
