//! What the session cannot reach outside itself: a Landlock scope (no signal, stop or
//! ptrace of leash or of any process outside the session, no connection to an abstract
//! unix socket made outside it), a seccomp filter (no terminal injection, no kernel
//! keyrings, userfaultfd or io_uring), and what the flags ask on top: namespaces (PID,
//! network, mount for a private /tmp) and a Landlock ruleset for files and TCP ports.
//! All of it is prepared here, in leash (rulesets, the filter's program, what namespaces
//! can be made), and entered by the child before exec. Where the machine lacks a
//! mechanism, the plan says what is missing and why, and a flag that needs it is refused;
//! without the scope leash at least makes itself non-dumpable, so that the session cannot
//! ptrace it.

mod access;
mod filter;
mod reach;
mod scope;

use std::fmt;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use seccompiler::BpfProgram;

use crate::machine::error::{Error, IsolationError};
use crate::machine::fork_notify;
pub(crate) use access::{Access, DEVICES, PRIVATE_TMP, SYSTEM_READS, interpreters};
pub(crate) use filter::{REFUSED, REFUSED_SOCKETS};
pub(crate) use reach::{Network, Reach, Writes};

/// The variable a test sets to pretend mechanisms are missing (`landlock`, `seccomp`,
/// `userns`, comma-separated), to see what leash does on a machine without them. It weakens
/// nothing a caller could not turn off with a flag, and `--explain` names it.
pub(crate) const PRETEND_MISSING: &str = "_LEASH_TEST_MISSING";

/// The protections a session gets here.
#[derive(Debug)]
pub(crate) struct Isolation {
    /// The Landlock ruleset that scopes the session, ready to be enforced; or why there is
    /// none.
    pub(crate) scope: Result<Scope, Missing>,
    /// The seccomp filter's program; or why there is none.
    pub(crate) filter: Result<BpfProgram, Missing>,
    /// The Landlock ABI the session's rulesets are made for; or why there can be none.
    pub(crate) landlock: Result<i32, Missing>,
    /// How namespaces can be made here, or why none can.
    pub(crate) namespaces: Result<Namespaces, Missing>,
    /// `--pid-ns`: a PID namespace of the session's own, leash's init its PID 1.
    pub(crate) pid_ns: bool,
    /// What holds the session's network.
    pub(crate) network: NetworkHold,
    /// The Landlock ruleset for files and ports (`None`: none asked for); or why there is
    /// none.
    pub(crate) access: Result<Option<Access>, Missing>,
    /// What the flags asked the session to reach.
    pub(crate) reach: Reach,
    /// The session gets a user namespace so that RLIMIT_NPROC counts its processes apart
    /// from the user's others (RLIMIT_NPROC counts per user namespace since Linux 5.14).
    pub(crate) counts_processes_apart: bool,
    /// `--procs`' fork gate (seccomp user notification), for a session no pids cgroup
    /// counts; or why there can be none.
    pub(crate) fork_gate: Result<(), Missing>,
}

/// How the session's namespaces are made here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Namespaces {
    /// Inside a new user namespace that maps the user to itself (without CAP_SYS_ADMIN);
    /// else directly.
    pub(crate) in_user_namespace: bool,
}

/// The namespaces a session gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // one per kind of namespace, as clone3 takes them
pub(crate) struct Unshared {
    /// A user namespace that maps the user to itself, to make the others in.
    pub(crate) user: bool,
    /// A PID namespace, with leash's init (and, in a mount namespace, its own /proc).
    pub(crate) pid: bool,
    /// A network namespace with only loopback.
    pub(crate) net: bool,
    /// A mount namespace (for /proc and the private /tmp).
    pub(crate) mount: bool,
}

/// What holds the session's network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NetworkHold {
    /// Nothing: the host's network.
    Host,
    /// A network namespace of its own.
    Namespace,
    /// No network namespace can be made (why): the seccomp filter refuses every socket
    /// but unix ones.
    SocketFilter(Missing),
    /// Landlock's TCP rules: only these ports.
    Ports(Vec<u16>),
}

/// A Landlock ruleset that scopes the session.
#[derive(Debug)]
pub(crate) struct Scope {
    /// The ruleset (close-on-exec).
    pub(crate) ruleset: OwnedFd,
    /// The kernel's Landlock ABI.
    pub(crate) abi: i32,
}

/// Why a protection is not held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Missing {
    /// `--allow-signals-outside` turned the scope off.
    OptedOut,
    /// The kernel's Landlock (this ABI) has no scopes.
    NoScopes(i32),
    /// `--allow-new-privs`, and the command will lack CAP_SYS_ADMIN: Landlock and seccomp
    /// need `no_new_privs` then.
    NewPrivsAllowed,
    /// The seccomp filter cannot be built for this machine.
    NoFilter(String),
    /// No user namespace can be made without privilege here, and leash has none.
    NoUserNamespaces(&'static str),
    /// The kernel has no Landlock at all.
    NoLandlock,
    /// The kernel's Landlock (this ABI) has no network rules.
    NoNetworkRules(i32),
    /// The Landlock ruleset could not be built.
    NoRuleset(String),
    /// [`PRETEND_MISSING`] says so.
    Pretended,
    /// The session is not isolated (`Spec::isolated`): leash stands in for a tool whose
    /// command may do what it may under that tool: signal its parent, gain privileges
    /// (sudo), use any system call.
    NotIsolated,
    /// No `--procs`: no fork gate is needed.
    NotAsked,
    /// The kernel cannot notify leash of a seccomp-filtered call (`user_notif`, Linux 5.0),
    /// or leash does not know this architecture's calls.
    NoUserNotification,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::OptedOut => f.write_str("turned off by --allow-signals-outside"),
            Missing::NoLandlock => f.write_str("this kernel has no Landlock"),
            Missing::NoScopes(abi) => write!(
                f,
                "this kernel's Landlock (ABI {abi}) has no scopes (ABI 6, Linux 6.12)"
            ),
            Missing::NewPrivsAllowed => f.write_str(
                "--allow-new-privs, and the command has no CAP_SYS_ADMIN (it needs no_new_privs)",
            ),
            Missing::NoFilter(why) => write!(f, "no seccomp filter here: {why}"),
            Missing::NoUserNamespaces(why) => write!(
                f,
                "without CAP_SYS_ADMIN it needs a user namespace, and {why}"
            ),
            Missing::NoNetworkRules(abi) => write!(
                f,
                "this kernel's Landlock (ABI {abi}) has no network rules (ABI 4, Linux 6.7)"
            ),
            Missing::NoRuleset(why) => write!(f, "cannot build the Landlock ruleset: {why}"),
            Missing::Pretended => write!(f, "pretended missing by {PRETEND_MISSING}"),
            Missing::NotIsolated => f.write_str("not part of a session that stands in for a tool"),
            Missing::NotAsked => f.write_str("no --procs"),
            Missing::NoUserNotification => {
                f.write_str("this kernel's seccomp cannot notify leash (user_notif, Linux 5.0)")
            }
        }
    }
}

/// What the flags ask of the isolation.
#[derive(Clone, Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // independent flags, as the command line has them
pub(crate) struct Asked {
    /// `--allow-signals-outside`: no Landlock scope.
    pub(crate) signals_outside: bool,
    /// `--allow-new-privs`: no `no_new_privs` for the command.
    pub(crate) new_privs: bool,
    /// `--user` or `--group`: the command gives up leash's identity (and capabilities)
    /// before it enters the Landlock domain.
    pub(crate) changes_identity: bool,
    /// `--pid-ns`.
    pub(crate) pid_ns: bool,
    /// `--network`, `--write`, `--read-only`, `--read`, `--private-tmp`.
    pub(crate) reach: Reach,
    /// The command's program, resolved (`--read` lets it and its interpreters be read).
    pub(crate) program: Option<PathBuf>,
    /// `--procs` is held by sampling with an RLIMIT_NPROC backstop: a user namespace of
    /// the session's own makes the rlimit count only the session's processes.
    pub(crate) counts_processes: bool,
    /// `--procs` is set: where no pids cgroup counts the session, a fork gate holds it.
    pub(crate) limits_processes: bool,
    /// Whether the command is isolated at all (`Spec::isolated`): no scope, no filter, no
    /// namespace where leash stands in for a tool.
    pub(crate) isolated: bool,
}

impl Isolation {
    /// Prepare the protections `asked` for.
    pub(crate) fn prepare(asked: Asked) -> Isolation {
        let pretended = std::env::var(PRETEND_MISSING).unwrap_or_default();
        let pretend = |what: &str| pretended.split(',').any(|p| p.trim() == what);
        let enforceable = enforceable(&asked);
        let landlock = if pretend("landlock") {
            Err(Missing::Pretended)
        } else {
            enforceable
                .clone()
                .and_then(|()| scope::abi().ok_or(Missing::NoLandlock))
        };
        let scope = if asked.signals_outside {
            Err(Missing::OptedOut)
        } else {
            landlock.clone().and_then(scope::ruleset)
        };
        let access = access_ruleset(&asked, &landlock);
        // Not isolated, none is made: not worth the probe (it costs its start-up).
        let namespaces = if asked.isolated {
            namespaces_here(pretend("userns"))
        } else {
            Err(Missing::NotIsolated)
        };
        let network = match (&asked.reach.network, &namespaces) {
            (Network::Host, _) => NetworkHold::Host,
            (Network::None, Ok(_)) => NetworkHold::Namespace,
            (Network::None, Err(why)) => NetworkHold::SocketFilter(why.clone()),
            (Network::Ports(ports), _) => NetworkHold::Ports(ports.clone()),
        };
        let refuse_sockets = matches!(network, NetworkHold::SocketFilter(_));
        let fork_gate = fork_gate(&asked, enforceable.clone(), pretend("seccomp"));
        // Not a protection the user asked for, and not needed where the fork gate holds the
        // count (it costs a probe and a namespace at every start): only where a user
        // namespace really can be made (a container's seccomp profile may refuse one that
        // the settings allow).
        let counts_processes_apart = asked.counts_processes
            && fork_gate.is_err()
            && namespaces.as_ref().is_ok_and(|ns| ns.in_user_namespace)
            && user_namespace_can_be_made();
        let filter = if pretend("seccomp") {
            Err(Missing::Pretended)
        } else {
            enforceable
                .clone()
                .and_then(|()| filter::program(refuse_sockets))
        };
        Isolation {
            scope,
            filter,
            namespaces,
            landlock,
            pid_ns: asked.pid_ns,
            network,
            access,
            reach: asked.reach,
            counts_processes_apart,
            fork_gate,
        }
    }

    /// The namespaces the session gets; `None` for none.
    pub(crate) fn unshared(&self) -> Option<Unshared> {
        let ns = self.namespaces.as_ref().ok()?;
        let net = self.network == NetworkHold::Namespace;
        let private_tmp = self.reach.private_tmp.is_some();
        (self.pid_ns || net || private_tmp || self.counts_processes_apart).then_some(Unshared {
            user: ns.in_user_namespace,
            pid: self.pid_ns,
            net,
            mount: self.pid_ns || private_tmp,
        })
    }

    /// Why what the flags ask cannot be held here, naming the flag; `None` if it can.
    pub(crate) fn refusal(&self) -> Option<Error> {
        let refuse = |error: IsolationError| Some(Error::Isolation(error));
        if let (true, Err(why)) = (self.pid_ns, &self.namespaces) {
            return refuse(IsolationError::NoPidNamespace {
                why: why.to_string(),
            });
        }
        if let (Some(_), Err(why)) = (self.reach.private_tmp, &self.namespaces) {
            return refuse(IsolationError::NoMountNamespace {
                why: why.to_string(),
            });
        }
        if let (NetworkHold::SocketFilter(no_namespace), Err(no_filter)) =
            (&self.network, &self.filter)
        {
            return refuse(IsolationError::NoNetworkHold {
                no_namespace: no_namespace.to_string(),
                no_filter: no_filter.to_string(),
            });
        }
        if let Err(why) = &self.access {
            return refuse(IsolationError::NoLandlock {
                flags: self.reach.landlock_flags().join(", "),
                why: why.to_string(),
            });
        }
        None
    }
}

/// The Landlock ruleset for the files and ports the flags name (none if they name none).
fn access_ruleset(
    asked: &Asked,
    landlock: &Result<i32, Missing>,
) -> Result<Option<Access>, Missing> {
    if asked.reach.landlock_flags().is_empty() {
        return Ok(None);
    }
    landlock
        .clone()
        .and_then(|abi| access::ruleset(&asked.reach, asked.program.as_deref(), abi).map(Some))
}

/// Whether `--procs`' fork gate can hold the session: it is a seccomp filter too
/// (`enforceable`), and needs the kernel to notify leash; `pretended` missing.
fn fork_gate(
    asked: &Asked,
    enforceable: Result<(), Missing>,
    pretended: bool,
) -> Result<(), Missing> {
    if !asked.limits_processes {
        Err(Missing::NotAsked)
    } else if pretended {
        Err(Missing::Pretended)
    } else {
        enforceable.and_then(|()| {
            fork_notify::available()
                .then_some(())
                .ok_or(Missing::NoUserNotification)
        })
    }
}

/// Whether Landlock and seccomp can hold the command at all: both need no_new_privs, or
/// CAP_SYS_ADMIN, which the command no longer has once it took another identity; and
/// neither is part of a session that is not isolated.
fn enforceable(asked: &Asked) -> Result<(), Missing> {
    if !asked.isolated {
        Err(Missing::NotIsolated)
    } else if asked.new_privs && (asked.changes_identity || !may_sys_admin()) {
        Err(Missing::NewPrivsAllowed)
    } else {
        Ok(())
    }
}

/// How namespaces can be made here: directly with CAP_SYS_ADMIN, else in a user namespace
/// (unless `pretended` missing).
fn namespaces_here(pretended: bool) -> Result<Namespaces, Missing> {
    if may_sys_admin() {
        Ok(Namespaces {
            in_user_namespace: false,
        })
    } else if pretended {
        Err(Missing::Pretended)
    } else {
        user_namespaces().map(|()| Namespaces {
            in_user_namespace: true,
        })
    }
}

/// Whether an unprivileged process may make a user namespace here, as far as the
/// machine's settings tell (the clone itself has the last word).
fn user_namespaces() -> Result<(), Missing> {
    let setting = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string());
    if setting("/proc/sys/user/max_user_namespaces").is_ok_and(|n| n == "0") {
        return Err(Missing::NoUserNamespaces("user.max_user_namespaces is 0"));
    }
    if setting("/proc/sys/kernel/unprivileged_userns_clone").is_ok_and(|n| n == "0") {
        return Err(Missing::NoUserNamespaces(
            "kernel.unprivileged_userns_clone is 0",
        ));
    }
    if setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").is_ok_and(|n| n == "1") {
        return Err(Missing::NoUserNamespaces(
            "AppArmor restricts them (kernel.apparmor_restrict_unprivileged_userns is 1)",
        ));
    }
    Ok(())
}

/// Whether a user namespace can be made here: tried in a child that makes one and exits.
fn user_namespace_can_be_made() -> bool {
    // SAFETY: leash is single-threaded here; the child only calls unshare(2) and _exit(2),
    // both async-signal-safe.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            // SAFETY: unshare(2) takes only flags; _exit(2) skips the parent's atexit
            // handlers and flushes nothing.
            unsafe {
                let made = libc::unshare(libc::CLONE_NEWUSER) == 0;
                libc::_exit(i32::from(!made))
            }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => matches!(
            nix::sys::wait::waitpid(child, None),
            Ok(nix::sys::wait::WaitStatus::Exited(_, 0))
        ),
        Err(_) => false,
    }
}

fn may_sys_admin() -> bool {
    crate::machine::capability::effective(crate::machine::capability::SYS_ADMIN)
}
