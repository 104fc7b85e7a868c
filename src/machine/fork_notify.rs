//! Seccomp user notification of the calls that start a task (`clone`, `clone3`, `fork`,
//! `vfork`): the filter a process installs before it execs, how its listener reaches the
//! supervisor over a unix socket, and the supervisor's answers (go on, or fail with an
//! errno). Each such call then waits until the supervisor has answered it.
//!
//! The filter reads only the system call's number, not its arguments (`clone3` passes
//! them in memory a filter cannot read), so a new thread is announced as a new process is.

use std::mem::{size_of, zeroed};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd::Pid;

use crate::machine::proc_view::{self, read_proc};
use crate::machine::tree::StatFields;

/// `AUDIT_ARCH_*` of `<linux/audit.h>`: the architectures a filter tells apart.
#[cfg(target_arch = "x86_64")]
const ARCHITECTURES: [(u32, &[u32], bool); 2] = [
    // x86-64 and x32 (the same numbers with bit 30 set, which the filter masks off).
    (0xC000_003E, &[56, 57, 58, 435], true),
    // i386 system calls of a 64-bit process (int 0x80).
    (0x4000_0003, &[120, 2, 190, 435], false),
];
#[cfg(target_arch = "aarch64")]
const ARCHITECTURES: [(u32, &[u32], bool); 1] = [(0xC000_00B7, &[220, 435], false)];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ARCHITECTURES: [(u32, &[u32], bool); 0] = [];

/// The x32 ABI's bit in a system call number.
const X32_BIT: u32 = 0x4000_0000;

/// Offsets in `struct seccomp_data`.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;

/// Room beyond libc's notification structures, in case the running kernel's are larger
/// (it writes and reads its own sizes, which [`available`] checks against this).
const SPARE: usize = 64;

/// The size of one descriptor in a control message.
#[allow(clippy::cast_possible_truncation)] // 4 bytes
const FD_LEN: u32 = size_of::<RawFd>() as u32;

/// A notification or an answer with room for a newer kernel's larger structure.
#[repr(C)]
struct Padded<T> {
    value: T,
    spare: [u8; SPARE],
}

/// The filter's program: for each architecture, the task-starting calls go to the
/// listener; everything else (and any other architecture) is allowed, left to the
/// session's other filter.
pub(crate) fn program() -> Vec<libc::sock_filter> {
    let load = |offset| bpf(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, offset, 0, 0);
    let ret = |action| bpf(libc::BPF_RET | libc::BPF_K, action, 0, 0);
    let mut program = Vec::new();
    for (arch, calls, x32) in ARCHITECTURES {
        let mut block = vec![load(NR_OFFSET)];
        if x32 {
            block.push(bpf(
                libc::BPF_ALU | libc::BPF_AND | libc::BPF_K,
                !X32_BIT,
                0,
                0,
            ));
        }
        for &call in calls {
            // Equal: the next instruction (the notification); else skip it.
            block.push(bpf(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, call, 0, 1));
            block.push(ret(libc::SECCOMP_RET_USER_NOTIF));
        }
        block.push(ret(libc::SECCOMP_RET_ALLOW));
        program.push(load(ARCH_OFFSET));
        let skip = u8::try_from(block.len()).unwrap_or(u8::MAX);
        program.push(bpf(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            arch,
            0,
            skip,
        ));
        program.extend(block);
    }
    program.push(ret(libc::SECCOMP_RET_ALLOW));
    program
}

fn bpf(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: u16::try_from(code).unwrap_or(u16::MAX),
        jt,
        jf,
        k,
    }
}

/// Whether the kernel can notify a supervisor and leash knows this architecture: the
/// `user_notif` action, and notification structures no larger than leash makes room for.
pub(crate) fn available() -> bool {
    if ARCHITECTURES.is_empty() {
        return false;
    }
    let actions = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail");
    if !actions.is_ok_and(|a| a.split_whitespace().any(|action| action == "user_notif")) {
        return false;
    }
    // SAFETY: a zeroed seccomp_notif_sizes is valid (three integers).
    let mut sizes: libc::seccomp_notif_sizes = unsafe { zeroed() };
    // SAFETY: seccomp(2) SECCOMP_GET_NOTIF_SIZES writes the three sizes into `sizes`.
    let got = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_NOTIF_SIZES,
            0u32,
            &raw mut sizes,
        )
    };
    got == 0
        && usize::from(sizes.seccomp_notif) <= size_of::<Padded<libc::seccomp_notif>>()
        && usize::from(sizes.seccomp_notif_resp) <= size_of::<Padded<libc::seccomp_notif_resp>>()
}

/// Install `program` (after `no_new_privs`) with a new listener, and send the listener
/// over `socket`. Only async-signal-safe calls on memory prepared before a fork, so a
/// forked child may call it.
pub(crate) fn install_and_send(program: &[libc::sock_filter], socket: RawFd) -> Result<(), Errno> {
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).unwrap_or(u16::MAX),
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: seccomp(2) copies the program in; `fprog` points at instructions that live
    // across the call. It returns the listener, close-on-exec.
    let listener = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &raw const fprog,
        )
    };
    let listener = RawFd::try_from(Errno::result(listener)?).map_err(|_| Errno::EBADF)?;
    let sent = send_fd(socket, listener);
    // SAFETY: close(2) of the listener the call above returned: leash holds its copy.
    unsafe { libc::close(listener) };
    sent
}

/// sendmsg(2) of `fd` with one byte, on the stack (no allocation).
fn send_fd(socket: RawFd, fd: RawFd) -> Result<(), Errno> {
    // Room for one cmsghdr and one descriptor, aligned as cmsghdr needs.
    let mut control = [0u64; 4];
    let mut byte = [1u8];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: a zeroed msghdr is valid (null pointers, zero lengths).
    let mut message: libc::msghdr = unsafe { zeroed() };
    message.msg_iov = &raw mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    message.msg_controllen = unsafe { libc::CMSG_SPACE(FD_LEN) } as _;
    // SAFETY: the control buffer is large enough for one header (checked by CMSG_FIRSTHDR
    // against msg_controllen) and one descriptor; every pointer points into this frame.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&raw const message);
        if header.is_null() {
            return Err(Errno::EINVAL);
        }
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(FD_LEN) as _;
        libc::CMSG_DATA(header).cast::<RawFd>().write_unaligned(fd);
    }
    // SAFETY: sendmsg(2) reads the message built above; async-signal-safe.
    Errno::result(unsafe { libc::sendmsg(socket, &raw const message, libc::MSG_NOSIGNAL) })
        .map(drop)
}

/// The supervisor's end of the notifications: where task-starting calls wait for an
/// answer.
#[derive(Debug)]
pub(crate) struct Listener {
    fd: OwnedFd,
}

/// One call waiting for its answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Call {
    id: u64,
    /// The calling thread (in leash's PID namespace).
    pub(crate) caller: Pid,
}

/// Whether thread `tid` (of leash's PID namespace), let through a task-starting call, may
/// still be inside it, its new task not made yet: it is runnable (state R in its stat).
/// A thread that sleeps (at the gate again, or anywhere else), has ended, or that `/proc`
/// does not show, is not. An upper bound: a runnable thread may be back in its own code.
/// (`/proc/TID/syscall` would tell exactly, but reading it waits until the thread is off
/// its CPU: up to a scheduler tick per thread on a loaded machine, while the gate waits.)
pub(crate) fn in_task_call(tid: Pid) -> bool {
    proc_view::file(tid, "stat")
        .and_then(|path| read_proc(&path))
        .and_then(|stat| StatFields::of(&stat)?.state())
        == Some('R')
}

impl Listener {
    /// The listener the child sent over `socket`, if it sent one (not blocking: it was
    /// sent, if at all, before the exec the caller has seen).
    pub(crate) fn receive(socket: &OwnedFd) -> Option<Listener> {
        use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
        let mut byte = [0u8];
        let mut iov = [std::io::IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!(RawFd);
        let message = recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .ok()?;
        message.cmsgs().ok()?.find_map(|cmsg| match cmsg {
            ControlMessageOwned::ScmRights(fds) => fds.first().map(|&fd| Listener {
                // SAFETY: the kernel just installed this descriptor for us; nothing else
                // owns it.
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
            }),
            _ => None,
        })
    }

    /// The next call waiting for an answer, if one waits now.
    pub(crate) fn next(&self) -> Option<Call> {
        let mut ready = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut ready, PollTimeout::ZERO).ok()? == 0 {
            return None;
        }
        // SAFETY: the kernel wants a zeroed buffer; all-zero is valid for these integers.
        let mut notification: Padded<libc::seccomp_notif> = unsafe { zeroed() };
        loop {
            // SAFETY: SECCOMP_IOCTL_NOTIF_RECV writes at most the kernel's notification
            // size into the buffer, which `available` checked fits.
            let received = unsafe {
                libc::ioctl(
                    self.fd.as_raw_fd(),
                    libc::SECCOMP_IOCTL_NOTIF_RECV,
                    &raw mut notification,
                )
            };
            match Errno::result(received) {
                Ok(_) => {
                    return Some(Call {
                        id: notification.value.id,
                        caller: Pid::from_raw(
                            i32::try_from(notification.value.pid).unwrap_or(i32::MAX),
                        ),
                    });
                }
                Err(Errno::EINTR) => {}
                // ENOENT: the caller died meanwhile.
                Err(_) => return None,
            }
        }
    }

    /// Let `call` go on.
    pub(crate) fn allow(&self, call: Call) {
        self.answer(call, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE);
    }

    /// Fail `call` with `errno`.
    pub(crate) fn refuse(&self, call: Call, errno: Errno) {
        self.answer(call, -(errno as i32), 0);
    }

    fn answer(&self, call: Call, error: i32, flags: libc::c_ulong) {
        // SAFETY: all-zero is valid for these integers.
        let mut answer: Padded<libc::seccomp_notif_resp> = unsafe { zeroed() };
        answer.value.id = call.id;
        answer.value.error = error;
        answer.value.flags = u32::try_from(flags).unwrap_or(0);
        // SAFETY: SECCOMP_IOCTL_NOTIF_SEND reads the kernel's answer size from the buffer,
        // which `available` checked fits. An error (ENOENT: the caller died) needs no
        // answer.
        let _ = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                &raw mut answer,
            )
        };
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_notifies_only_the_calls_that_start_tasks() {
        let program = program();
        let notify = program
            .iter()
            .filter(|i| i.k == libc::SECCOMP_RET_USER_NOTIF)
            .count();
        let calls: usize = ARCHITECTURES.iter().map(|(_, calls, _)| calls.len()).sum();
        assert_eq!(notify, calls);
        assert_eq!(program.last().map(|i| i.k), Some(libc::SECCOMP_RET_ALLOW));
    }
}
