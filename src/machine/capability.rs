//! Which capabilities leash itself has: its effective set, from capget(2).

use rustix::thread::CapabilitySet;

/// CAP_SYS_ADMIN: among others, Landlock and seccomp without `no_new_privs`.
pub(crate) const SYS_ADMIN: CapabilitySet = CapabilitySet::SYS_ADMIN;
/// CAP_SYS_RESOURCE: raising hard rlimits, lowering an OOM score.
pub(crate) const SYS_RESOURCE: CapabilitySet = CapabilitySet::SYS_RESOURCE;

/// Whether `capability` is in leash's effective set. One system call: `/proc/self/status`,
/// which says the same, costs the kernel a page of text at every start.
pub(crate) fn effective(capability: CapabilitySet) -> bool {
    rustix::thread::capabilities(None).is_ok_and(|sets| sets.effective.contains(capability))
}
