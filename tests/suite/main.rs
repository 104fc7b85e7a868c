//! The integration tests, one binary (the harness in `common` compiles once): each module
//! a topic, each test driving the real leash and leashctl against real programs, under an
//! outer cap, with survivors checked by PID and start time.

mod common;

mod agent;
mod audit;
mod baseline;
mod cgroup;
mod claude_code;
mod codex;
mod codex_wired;
mod config;
mod container;
mod containment;
mod exit_status;
mod explain;
mod foreign_proc;
mod gemini;
mod generated;
mod install;
mod kernel;
mod layout;
mod open_interpreter;
mod output;
mod outside;
mod parent_and_sigint;
mod pid_ns;
mod privilege;
mod prlimit;
mod reach;
mod readme;
mod records;
mod rlimits;
mod session_limits;
mod sessions;
mod slots;
mod terminal;
mod timeout;
