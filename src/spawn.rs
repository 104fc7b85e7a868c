//! Starting the command: resolve it, fork, set the child up, exec.
//!
//! Everything that allocates happens before `fork`; between `fork` and `exec` the child
//! makes only system calls (write to cgroup.procs, dup2, setpgid, prctl, sigaction,
//! sigprocmask, setrlimit, write, execve, _exit), which are async-signal-safe. A
//! close-on-exec pipe tells the parent whether the exec succeeded, and if not, which step
//! failed and why.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction, sigprocmask};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid, pipe2, setpgid};

use crate::limits::ResolvedRlimit;
use crate::privilege::{Confinement, Failure, Request};

/// Why the command could not be started.
#[derive(Debug)]
pub enum SpawnError {
    /// No such command (exit status 127).
    NotFound(OsString),
    /// Found but not executable (exit status 126).
    CannotExecute(OsString, Errno),
    /// leash could not set the child up (exit status 125).
    Setup(String),
}

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
    output: Option<(RawFd, RawFd)>,
    /// User, group, `no_new_privs`, descriptors, directory, umask, niceness.
    confinement: Confinement,
}

/// How the child enters the session's cgroup.
#[derive(Clone, Debug, Default)]
pub struct CgroupEntry {
    /// A cgroup v2 directory the child is created in (clone3 with CLONE_INTO_CGROUP: no
    /// migration, which costs the kernel an RCU grace period), and that directory's
    /// cgroup.procs for a kernel that cannot (before Linux 5.7).
    pub born_into: Option<(RawFd, RawFd)>,
    /// Open cgroup.procs files the child writes itself into (cgroup v1).
    pub join: Vec<RawFd>,
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
        command: &[OsString],
        rlimits: Vec<ResolvedRlimit>,
        take_terminal: bool,
        cgroup: CgroupEntry,
        output: Option<(RawFd, RawFd)>,
        privilege: &Request,
    ) -> Result<Self, SpawnError> {
        let confinement = Confinement::resolve(privilege).map_err(SpawnError::Setup)?;
        let name = command
            .first()
            .ok_or_else(|| SpawnError::Setup("no command given".into()))?;
        let program = resolve(name)?;
        let c_string = |s: &OsStr| {
            CString::new(s.as_bytes()).map_err(|_| {
                SpawnError::Setup(format!("{} contains a NUL byte", s.to_string_lossy()))
            })
        };
        let argv = command
            .iter()
            .map(|a| c_string(a))
            .collect::<Result<_, _>>()?;
        let envp = crate::privilege::environment(privilege)
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
        })
    }

    /// Fork and exec the command in a new process group. Returns once the exec succeeded.
    pub fn spawn(&self) -> Result<Pid, SpawnError> {
        let argv = null_terminated(&self.argv);
        let envp = null_terminated(&self.envp);
        let (report_read, report_write) = pipe2(OFlag::O_CLOEXEC)
            .map_err(|e| SpawnError::Setup(format!("cannot create a pipe: {e}")))?;
        let supervisor = getpid();
        // SAFETY: leash is single-threaded here, and the child runs only `exec_child`, which
        // makes async-signal-safe system calls on memory prepared before the fork.
        match unsafe { self.fork() } {
            Err(e) => Err(SpawnError::Setup(format!("cannot fork: {e}"))),
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
        if let Some((dir, _)) = self.cgroup.born_into {
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
    fn await_exec(&self, child: Pid, report: &OwnedFd) -> Result<Pid, SpawnError> {
        let mut buf = [0u8; 5];
        let mut filled = 0;
        while filled < buf.len() {
            match nix::unistd::read(report, &mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(Errno::EINTR) => {}
                Err(e) => {
                    return Err(SpawnError::Setup(format!(
                        "cannot read from the child: {e}"
                    )));
                }
            }
        }
        if filled == 0 {
            return Ok(child);
        }
        let _ = waitpid(child, None);
        let step = buf[0];
        let errno = Errno::from_raw(i32::from_ne_bytes([buf[1], buf[2], buf[3], buf[4]]));
        Err(self.describe_failure(step, errno))
    }

    fn describe_failure(&self, step: u8, errno: Errno) -> SpawnError {
        let program = OsStr::from_bytes(self.program.as_bytes()).to_os_string();
        match Step::from(step) {
            Step::Exec if errno == Errno::ENOENT => SpawnError::NotFound(program),
            Step::Exec => SpawnError::CannotExecute(program, errno),
            Step::Rlimit(index) => {
                let limit = self
                    .rlimits
                    .get(index)
                    .map_or_else(String::new, ToString::to_string);
                SpawnError::Setup(format!("cannot set rlimit {limit}: {errno}"))
            }
            Step::ProcessGroup => {
                SpawnError::Setup(format!("cannot start a process group: {errno}"))
            }
            Step::Signals => SpawnError::Setup(format!("cannot reset signals: {errno}")),
            Step::Cgroup => {
                SpawnError::Setup(format!("cannot enter the session's cgroup: {errno}"))
            }
            Step::Output => SpawnError::Setup(format!("cannot connect the output relay: {errno}")),
            Step::Confine(Failure::Identity) => {
                SpawnError::Setup(format!("--user/--group: cannot change identity: {errno}"))
            }
            Step::Confine(Failure::Directory) => {
                SpawnError::Setup(format!("--chdir: cannot change directory: {errno}"))
            }
            Step::Confine(Failure::Nice) => {
                SpawnError::Setup(format!("--nice: cannot change niceness: {errno}"))
            }
            Step::Confine(Failure::NoNewPrivs) => {
                SpawnError::Setup(format!("cannot set no_new_privs: {errno}"))
            }
        }
    }
}

/// The step of the child's setup that failed, as sent through the report pipe.
#[derive(Clone, Copy)]
enum Step {
    ProcessGroup,
    Signals,
    Rlimit(usize),
    Cgroup,
    Output,
    Confine(Failure),
    Exec,
}

impl Step {
    const IDENTITY: u8 = 249;
    const DIRECTORY: u8 = 250;
    const NICE: u8 = 251;
    const NO_NEW_PRIVS: u8 = 252;
    const OUTPUT: u8 = 253;
    const CGROUP: u8 = 254;
    const EXEC: u8 = 255;

    fn code(self) -> u8 {
        match self {
            Step::ProcessGroup => 0,
            Step::Signals => 1,
            Step::Rlimit(index) => 2 + u8::try_from(index).unwrap_or(0),
            Step::Cgroup => Self::CGROUP,
            Step::Output => Self::OUTPUT,
            Step::Confine(Failure::Identity) => Self::IDENTITY,
            Step::Confine(Failure::Directory) => Self::DIRECTORY,
            Step::Confine(Failure::Nice) => Self::NICE,
            Step::Confine(Failure::NoNewPrivs) => Self::NO_NEW_PRIVS,
            Step::Exec => Self::EXEC,
        }
    }
}

impl From<u8> for Step {
    fn from(code: u8) -> Self {
        match code {
            0 => Step::ProcessGroup,
            1 => Step::Signals,
            Self::CGROUP => Step::Cgroup,
            Self::OUTPUT => Step::Output,
            Self::IDENTITY => Step::Confine(Failure::Identity),
            Self::DIRECTORY => Step::Confine(Failure::Directory),
            Self::NICE => Step::Confine(Failure::Nice),
            Self::NO_NEW_PRIVS => Step::Confine(Failure::NoNewPrivs),
            Self::EXEC => Step::Exec,
            n => Step::Rlimit(usize::from(n - 2)),
        }
    }
}

/// The child's side of the fork: set up the process, then exec. Never returns.
///
/// # Safety
/// Must run only in the child of a `fork` of a single-threaded process. It makes only
/// async-signal-safe calls and does not allocate.
unsafe fn exec_child(
    launch: &Launch,
    supervisor: Pid,
    born_in_cgroup: bool,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    report: &OwnedFd,
) -> ! {
    let fail = |step: Step, errno: Errno| -> ! {
        let errno = (errno as i32).to_ne_bytes();
        let message = [step.code(), errno[0], errno[1], errno[2], errno[3]];
        let _ = nix::unistd::write(report, &message);
        // SAFETY: _exit is async-signal-safe and skips the parent's atexit handlers.
        unsafe { libc::_exit(if matches!(step, Step::Exec) { 127 } else { 125 }) }
    };
    // Into the session's cgroup first: "0" is the writing process itself.
    let v2 = launch
        .cgroup
        .born_into
        .filter(|_| !born_in_cgroup)
        .map(|(_, procs)| procs);
    for &entry in v2.iter().chain(&launch.cgroup.join) {
        // SAFETY: the fd stays open in the child until exec (close-on-exec); write(2) is
        // async-signal-safe and the buffer is a static.
        if unsafe { libc::write(entry, b"0".as_ptr().cast(), 1) } != 1 {
            fail(Step::Cgroup, Errno::last());
        }
    }
    if let Some((stdout, stderr)) = launch.output {
        for (from, to) in [(stdout, 1), (stderr, 2)] {
            // SAFETY: dup2 is async-signal-safe; both fds are open (the relay's ends,
            // close-on-exec, so only the duplicates reach the command).
            if unsafe { libc::dup2(from, to) } < 0 {
                fail(Step::Output, Errno::last());
            }
        }
    }
    // Our own process group, so the session's group can be signalled without leash in it.
    if let Err(e) = setpgid(Pid::from_raw(0), Pid::from_raw(0)) {
        fail(Step::ProcessGroup, e);
    }
    if launch.take_terminal {
        // The foreground of the terminal goes to the new group before exec, so the command
        // never reads it from the background. SIGTTOU is still blocked (inherited from
        // leash), so a background caller may do this.
        // SAFETY: tcsetpgrp is an ioctl on fd 0: async-signal-safe, no allocation.
        unsafe { libc::tcsetpgrp(0, libc::getpid()) };
    }
    if let Err(e) = reset_signals() {
        fail(Step::Signals, e);
    }
    for (index, limit) in launch.rlimits.iter().enumerate() {
        if let Err(e) = limit.apply() {
            fail(Step::Rlimit(index), e);
        }
    }
    // Niceness and rlimits first: raising them needs the privilege the identity drops.
    let confined = launch
        .confinement
        .apply_nice()
        .and_then(|()| launch.confinement.apply(report.as_raw_fd()));
    if let Err((step, e)) = confined {
        fail(Step::Confine(step), e);
    }
    // Die with leash: even a SIGKILLed supervisor takes its direct child along (set after
    // the identity changes, which clears it). If leash died before this line, the parent
    // is already someone else: give up now.
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || getppid() != supervisor {
        // SAFETY: as above.
        unsafe { libc::_exit(125) }
    }
    // SAFETY: program, argv and envp are NUL-terminated strings and NULL-terminated arrays
    // that outlive this call (they belong to `launch` and the caller's frame).
    unsafe { libc::execve(launch.program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    fail(Step::Exec, Errno::last())
}

/// Default dispositions for every signal and an empty mask, so the command starts as it
/// would from a shell, not with what leash blocked for its signalfd.
fn reset_signals() -> Result<(), Errno> {
    let default = SigAction::new(
        SigHandler::SigDfl,
        nix::sys::signal::SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in Signal::iterator() {
        if !matches!(signal, Signal::SIGKILL | Signal::SIGSTOP) {
            // SAFETY: installing SIG_DFL runs no code in the child.
            unsafe { sigaction(signal, &default) }?;
        }
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
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
fn resolve(name: &OsStr) -> Result<PathBuf, SpawnError> {
    if name.is_empty() {
        return Err(SpawnError::NotFound(name.into()));
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
        Some(candidate) => Err(SpawnError::CannotExecute(candidate.into(), Errno::EACCES)),
        None => Err(SpawnError::NotFound(name.into())),
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
