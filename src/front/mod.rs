//! The front ends, each a way into the session: leash's own command line (`cli`, with the
//! config layers below it in `config`, and the man pages and completions in `generate`),
//! the `timeout` and `prlimit` personalities, and `leashctl` (`ctl`).

pub(crate) mod cli;
pub(crate) mod config;
pub(crate) mod ctl;
pub(crate) mod generate;
pub(crate) mod personality;
