//! The front ends, each a way into the session: leash's own command line (`cli`, with the
//! config layers below it), the `timeout` and `prlimit` personalities (`personality`), and
//! `leashctl` (`ctl`); and the man pages and completions of all three (`generate`).

pub(crate) mod cli;
pub(crate) mod ctl;
pub(crate) mod generate;
pub(crate) mod personality;
