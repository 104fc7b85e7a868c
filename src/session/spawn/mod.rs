//! Starting the command: resolve it on PATH, prepare everything the child needs, fork (into
//! the session's v2 cgroup where the kernel can), and learn whether the exec worked.
//!
//! Everything that allocates happens here, before `fork`; the child's side until `exec`
//! is `child`'s. A close-on-exec pipe tells the parent whether the exec succeeded, and if
//! not, which step failed and why.

mod child;
mod clone;
mod init;
mod namespace;
mod private_tmp;
mod step;

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork, getpid, setpgid};

use crate::machine::cgroup::{BornInto, CgroupEntry};
use crate::machine::command_path::resolve;
use crate::machine::error::{Error, SetupError, UsageError};
use crate::machine::fork_notify::{self, Listener};
use crate::machine::oom::SessionScore;
use crate::machine::rlimit::ResolvedRlimit;
use crate::machine::signals::caller::ChildSignals;
use crate::session::confinement::{Confinement, Request};
use crate::session::isolation::Isolation;
use child::{InCgroup, exec_child};
use clone::{CLONE_INTO_CGROUP, clone3, pipe};
pub(crate) use init::{ENDED, STATUS_LEN, STOPPED};
use step::{REPORT_LEN, Step};

/// What the child must do before it execs, prepared in the parent.
pub(crate) struct Launch {
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
    /// The Landlock rulesets (owned by the plan, close-on-exec): the one that scopes the
    /// session, and the one that holds its files and ports.
    landlock: [Option<RawFd>; 2],
    /// The seccomp filter's program.
    filter: Option<seccompiler::BpfProgram>,
    /// The namespaces the session is made in, and what is set up in them.
    namespaces: Option<namespace::Setup>,
    /// How the session's `oom_score_adj` comes to be above leash's own.
    oom: Option<SessionScore>,
    /// How the command's signals start, its process group, and its death signal.
    signals: ChildSignals,
    /// `--procs`' fork gate: the filter the child installs last, and the socket it sends
    /// the listener over.
    fork_gate: Option<GateEnds>,
}

/// The fork gate's filter and the socket pair its listener crosses.
struct GateEnds {
    program: Vec<libc::sock_filter>,
    /// The child's end (close-on-exec).
    child: OwnedFd,
    /// leash's end.
    supervisor: OwnedFd,
}

/// A started session's first processes.
#[derive(Debug)]
pub(crate) struct Spawned {
    /// The command's process (in leash's PID namespace).
    pub(crate) main: Pid,
    /// With `--pid-ns`, the namespace's init.
    pub(crate) init: Option<InitLink>,
    /// Where the session's new tasks wait for leash, if the child could set the gate up.
    pub(crate) fork_gate: Option<Listener>,
}

/// The namespace's init, as leash sees it.
#[derive(Debug)]
pub(crate) struct InitLink {
    /// Its PID (in leash's namespace): leash's child.
    pub(crate) pid: Pid,
    /// Where it reports the command's stops and end ([`STATUS_LEN`] bytes each), not
    /// blocking.
    pub(crate) status: OwnedFd,
}

/// The descriptors that become the child's stdout and stderr.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutputFds {
    /// For fd 1.
    pub(crate) stdout: RawFd,
    /// For fd 2.
    pub(crate) stderr: RawFd,
}

impl Launch {
    /// Resolve `command[0]` on PATH as `execvp` would and prepare the exec arguments.
    /// With `take_terminal`, the child makes its group the terminal's foreground group;
    /// it starts in the session's cgroup as `cgroup` says.
    pub(crate) fn new(
        command: &[std::ffi::OsString],
        rlimits: Vec<ResolvedRlimit>,
        take_terminal: bool,
        cgroup: CgroupEntry,
        output: Option<OutputFds>,
        request: &Request,
        isolation: &Isolation,
    ) -> Result<Self, Error> {
        let confinement = Confinement::resolve(request)?;
        let name = command.first().ok_or(Error::Setup(SetupError::NoCommand))?;
        let program = resolve(name)?;
        let namespaces =
            namespace::Setup::prepare(isolation, || working_dir(&confinement), &program)?;
        let argv = command
            .iter()
            .map(|a| c_string(a))
            .collect::<Result<_, _>>()?;
        let envp = crate::session::environment::environment(request)
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
            landlock: [
                isolation.scope.as_ref().ok().map(|s| s.ruleset.as_raw_fd()),
                isolation
                    .access
                    .as_ref()
                    .ok()
                    .and_then(Option::as_ref)
                    .map(|a| a.ruleset.as_raw_fd()),
            ],
            filter: isolation.filter.as_ref().ok().cloned(),
            namespaces,
            oom: (!request.keep.oom_score)
                .then(SessionScore::prepare)
                .flatten(),
            signals: ChildSignals::fresh(),
            fork_gate: None,
        })
    }

    /// Make every new task of the session wait for leash's answer (`--procs` where no
    /// pids cgroup counts the session).
    pub(crate) fn with_fork_gate(mut self) -> Result<Self, Error> {
        let (child, supervisor) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(SetupError::call("cannot set the fork gate up"))?;
        self.fork_gate = Some(GateEnds {
            program: fork_notify::program(),
            child,
            supervisor,
        });
        Ok(self)
    }

    /// Start the command's signals as `signals` says instead of leash's fresh way.
    #[must_use]
    pub(crate) fn with_signals(mut self, signals: ChildSignals) -> Self {
        self.take_terminal &= signals.own_group;
        self.signals = signals;
        self
    }

    /// Fork and exec the command in a new process group (under `--pid-ns`, under the
    /// namespace's init). Returns once the exec succeeded.
    pub(crate) fn spawn(&self) -> Result<Spawned, Error> {
        let argv = null_terminated(&self.argv);
        let envp = null_terminated(&self.envp);
        let (report_read, report_write) = pipe()?;
        let namespaces = match &self.namespaces {
            Some(setup) if setup.with_init => {
                return self.spawn_in_namespaces(&argv, &envp, &report_read, report_write);
            }
            Some(setup) => setup.flags,
            None => 0,
        };
        let supervisor = getpid();
        // SAFETY: leash is single-threaded here, and the child runs only `exec_child`, which
        // makes async-signal-safe system calls on memory prepared before the fork.
        match unsafe { self.fork(namespaces) } {
            Err(errno) if namespaces != 0 => Err(SetupError::call(
                "cannot make the session's namespaces",
            )(errno)),
            Err(errno) => Err(SetupError::call("cannot fork")(errno)),
            Ok((ForkResult::Child, born_in_cgroup)) => {
                drop(report_read);
                let in_cgroup = if born_in_cgroup {
                    InCgroup::BornInV2
                } else {
                    InCgroup::No
                };
                // SAFETY: in the child of a fork; see `exec_child`.
                unsafe { exec_child(self, supervisor, in_cgroup, &argv, &envp, &report_write) }
            }
            Ok((ForkResult::Parent { child }, _)) => {
                drop(report_write);
                // Also set the group from this side, as job-control shells do, so the group
                // exists whichever of parent and child runs first. Fails harmlessly (EACCES)
                // once the child has exec'd.
                if self.signals.own_group {
                    let _ = setpgid(child, child);
                }
                if self.take_terminal {
                    let _ = nix::unistd::tcsetpgrp(std::io::stdin(), child);
                }
                self.await_exec(child, &report_read)?;
                Ok(Spawned {
                    main: child,
                    init: None,
                    fork_gate: self.gate_listener(),
                })
            }
        }
    }

    /// Start init in the session's namespaces, and the command under it. The command takes
    /// the terminal itself (leash cannot name its group before it exists).
    fn spawn_in_namespaces(
        &self,
        argv: &[*const libc::c_char],
        envp: &[*const libc::c_char],
        report_read: &OwnedFd,
        report_write: OwnedFd,
    ) -> Result<Spawned, Error> {
        let flags = self.namespaces.as_ref().map_or(0, |ns| ns.flags);
        let (go_read, go_write) = pipe()?;
        let (status_read, status_write) = pipe()?;
        // SAFETY: leash is single-threaded here, and the child runs only `run_init`, which
        // makes async-signal-safe system calls on memory prepared before the clone.
        match unsafe { self.fork(flags) } {
            Err(errno) => Err(SetupError::call(
                "--pid-ns: cannot make the session's namespaces",
            )(errno)),
            Ok((ForkResult::Child, born_in_cgroup)) => {
                let in_cgroup = if born_in_cgroup {
                    InCgroup::BornInV2
                } else {
                    InCgroup::No
                };
                let pipes = init::Pipes {
                    go: &go_read,
                    go_write: go_write.as_raw_fd(),
                    status: &status_write,
                    report: &report_write,
                };
                // SAFETY: in the child of a clone3; see `run_init`.
                unsafe { init::run_init(self, in_cgroup, &pipes, argv, envp) }
            }
            Ok((ForkResult::Parent { child: init }, _)) => {
                drop((report_write, status_write, go_read));
                // Go: init has asked to die with leash by now, or will before it reads this.
                let _ = nix::unistd::write(&go_write, &[1]);
                drop(go_write);
                self.await_exec(init, report_read)?;
                nix::fcntl::fcntl(
                    &status_read,
                    nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
                )
                .map_err(SetupError::call("cannot read init's reports"))?;
                // The command is init's only child, unless it has ended already.
                let main =
                    crate::machine::tree::children_of(init, crate::machine::tree::Threads::One)
                        .first()
                        .copied()
                        .unwrap_or(init);
                Ok(Spawned {
                    main,
                    init: Some(InitLink {
                        pid: init,
                        status: status_read,
                    }),
                    fork_gate: self.gate_listener(),
                })
            }
        }
    }

    /// Fork, straight into the session's v2 cgroup where the kernel can, and into new
    /// `namespaces` (clone3 flags; 0 for none); returns also whether the child was born in
    /// the cgroup.
    ///
    /// # Safety
    /// As `fork`: the caller must be single-threaded, and the child must only make
    /// async-signal-safe calls until it execs.
    unsafe fn fork(&self, namespaces: u64) -> nix::Result<(ForkResult, bool)> {
        if let Some(score) = &self.oom {
            score.before_fork();
        }
        // SAFETY: the caller's contract.
        let forked = unsafe { self.fork_into(namespaces) };
        if let (Some(score), Ok((ForkResult::Parent { .. }, _)) | Err(_)) = (&self.oom, &forked) {
            score.after_fork();
        }
        forked
    }

    /// `fork`'s clone itself.
    ///
    /// # Safety
    /// As `fork`.
    unsafe fn fork_into(&self, namespaces: u64) -> nix::Result<(ForkResult, bool)> {
        if let Some(BornInto { dir, .. }) = self.cgroup.born_into {
            // SAFETY: the caller's contract. On an error (ENOSYS, E2BIG, EINVAL: an older
            // kernel) fork and migrate instead.
            if let Ok(result) = unsafe { clone3(CLONE_INTO_CGROUP | namespaces, Some(dir)) } {
                return Ok((result, true));
            }
        }
        if namespaces != 0 {
            // SAFETY: the caller's contract.
            return unsafe { clone3(namespaces, None) }.map(|result| (result, false));
        }
        // SAFETY: the caller's contract.
        unsafe { fork() }.map(|result| (result, false))
    }

    /// The fork gate's listener, once the command runs: the child sent it before its exec,
    /// unless it could not make one (another supervisor's listener above it: EBUSY).
    fn gate_listener(&self) -> Option<Listener> {
        Listener::receive(&self.fork_gate.as_ref()?.supervisor)
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
                Err(errno) => return Err(SetupError::call("cannot read from the child")(errno)),
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
        let setup = |what: &str| {
            let step = step.map_or("child_step", Step::kind);
            Error::Setup(SetupError::ChildStep {
                step,
                what: what.to_string(),
                errno,
            })
        };
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
            Some(Step::Directory) => {
                let dir = self.confinement.directory().unwrap_or_default();
                setup(&format!(
                    "--chdir {}: cannot change directory",
                    dir.to_string_lossy()
                ))
            }
            Some(Step::Nice) => setup("--nice: cannot change niceness"),
            Some(Step::NoNewPrivs) => setup("cannot set no_new_privs"),
            Some(Step::Landlock) => setup("cannot enter the session's Landlock scope"),
            Some(Step::Seccomp) => setup("cannot install the seccomp filter"),
            Some(Step::Namespace) => setup("cannot set the session's namespaces up"),
            Some(Step::Proc) => setup("--pid-ns: cannot mount the namespace's /proc"),
            Some(Step::PrivateTmp) => setup("--private-tmp: cannot mount the private /tmp"),
            Some(Step::Loopback) => setup("--network none: cannot bring the loopback interface up"),
            None => setup("the child failed at an unknown step"),
        }
    }
}

/// `s` as a C string; one with a NUL byte in it cannot be passed to exec.
fn c_string(s: &OsStr) -> Result<CString, Error> {
    CString::new(s.as_bytes()).map_err(|_| {
        Error::Usage(UsageError::Nul {
            flag: None,
            path: s.into(),
        })
    })
}

/// The command's working directory: `--chdir`'s, else leash's own.
fn working_dir(confinement: &Confinement) -> Result<std::path::PathBuf, Error> {
    let current = std::env::current_dir().map_err(|error| SetupError::Io {
        what: "cannot read the working directory",
        error,
    })?;
    let dir = match confinement.directory() {
        Some(dir) => current.join(OsStr::from_bytes(dir.to_bytes())),
        None => current,
    };
    Ok(std::fs::canonicalize(&dir).unwrap_or(dir))
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}
