//! Users and groups by name or number (the system's account databases, through libc).
//!
//! A statically linked build asks only `/etc/passwd` and `/etc/group`: glibc serves other
//! sources (systemd, sssd, LDAP) by loading their NSS modules, shared objects linked
//! against the shared libc, and loading one into a static program crashes it (measured:
//! `--user` with a name or number not in `/etc/passwd` was a SIGSEGV where
//! nsswitch.conf names `systemd`). Such a build names other users by number.

use nix::errno::Errno;
use nix::unistd::{Gid, Group, Uid, User};

/// The user named `name`; `None` where there is none.
pub(crate) fn user_named(name: &str) -> Result<Option<User>, Errno> {
    files_only();
    User::from_name(name)
}

/// The user with the number `uid`; `None` where there is none.
pub(crate) fn user_numbered(uid: Uid) -> Result<Option<User>, Errno> {
    files_only();
    User::from_uid(uid)
}

/// The group named `name`; `None` where there is none.
pub(crate) fn group_named(name: &str) -> Result<Option<Group>, Errno> {
    files_only();
    Group::from_name(name)
}

/// The primary group of the user with the number `uid`, if the databases know it.
pub(crate) fn primary_group(uid: Uid) -> Option<Gid> {
    user_numbered(uid).ok().flatten().map(|user| user.gid)
}

#[cfg(target_feature = "crt-static")]
fn files_only() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    unsafe extern "C" {
        // glibc's own (public since 2.0): sets a database's sources as nsswitch.conf would.
        fn __nss_configure_lookup(
            database: *const libc::c_char,
            sources: *const libc::c_char,
        ) -> libc::c_int;
    }
    ONCE.call_once(|| {
        for database in [c"passwd", c"group"] {
            // SAFETY: two NUL-terminated static strings; glibc copies what it keeps, and
            // no lookup runs concurrently (the Once holds every caller until this is done).
            unsafe { __nss_configure_lookup(database.as_ptr(), c"files".as_ptr()) };
        }
    });
}

#[cfg(not(target_feature = "crt-static"))]
fn files_only() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_known_by_name_and_number() {
        let root = user_named("root").unwrap().unwrap();
        assert_eq!(root.uid, Uid::from_raw(0));
        assert_eq!(primary_group(Uid::from_raw(0)), Some(root.gid));
        assert!(group_named("root").unwrap().is_some());
        assert!(user_named("no-such-user-of-leash").unwrap().is_none());
    }
}
