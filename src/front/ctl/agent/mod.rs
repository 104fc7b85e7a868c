//! `leashctl agent`: wire leash under a coding agent, so that each shell command the
//! agent runs is a leash session of its own (install, list, remove).

mod hook;
mod install;
mod settings;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::CtlError;

/// What `leashctl agent` does.
#[derive(Debug, Subcommand)]
pub(crate) enum AgentAction {
    /// Run each shell command of AGENT (claude-code) under leash with the agent-command
    /// profile and LEASH_OPTIONS (given after --): a command that breaches a limit is
    /// stopped, its processes with it, the agent's model is told which limit, and the
    /// conversation goes on.
    Install(AgentInstall),
    /// List the agents leashctl wired, with their settings files and leash options.
    List,
    /// What the agent runs after a command fails (installed with the rest): the reason
    /// leash stopped the command, from its report, for the model.
    Hook {
        /// The agent (claude-code).
        agent: String,
    },
    /// Undo an install: the settings file as it was before, the prefix program removed.
    Remove {
        /// The agent (claude-code).
        agent: String,
        #[command(flatten)]
        place: SettingsPlace,
    },
}

/// Which of the agent's settings files: the user's, or a project's.
#[derive(Debug, Args)]
pub(crate) struct SettingsPlace {
    /// The user's settings, for every project ($CLAUDE_CONFIG_DIR or ~/.claude, then
    /// settings.json; the default).
    #[arg(long, conflicts_with = "project")]
    user: bool,
    /// One project's local settings: DIR/.claude/settings.local.json (not committed).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

/// `leashctl agent install`'s options.
#[derive(Debug, Args)]
pub(crate) struct AgentInstall {
    /// The agent (claude-code).
    agent: String,
    #[command(flatten)]
    place: SettingsPlace,
    /// leash's options for each command (after --), over the agent-command profile:
    /// e.g. -- --mem 8G --wall 20m.
    #[arg(last = true, value_name = "LEASH_OPTION")]
    leash_options: Vec<String>,
}

/// The agents leashctl knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Agent {
    /// Anthropic's Claude Code: its `CLAUDE_CODE_SHELL_PREFIX` setting.
    ClaudeCode,
}

impl Agent {
    fn named(name: &str, action: &str) -> Result<Agent, CtlError> {
        match name {
            "claude-code" => Ok(Agent::ClaudeCode),
            _ => Err(CtlError::Usage(format!(
                "agent {action}: no agent `{}`: leashctl knows claude-code",
                crate::machine::printable::printable(name)
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
        }
    }
}

/// Carry out `leashctl agent ACTION`.
pub(crate) fn run(action: AgentAction) -> Result<(), CtlError> {
    match action {
        AgentAction::Install(given) => {
            let agent = Agent::named(&given.agent, "install")?;
            let file = settings::path(agent, &given.place)?;
            super::out(&install::install(agent, &file, &given.leash_options)?)
        }
        AgentAction::List => super::out(&install::list()?),
        AgentAction::Hook { agent } => {
            Agent::named(&agent, "hook")?;
            hook::run()
        }
        AgentAction::Remove { agent, place } => {
            let agent = Agent::named(&agent, "remove")?;
            let file = settings::path(agent, &place)?;
            super::out(&install::remove(agent, &file)?)
        }
    }
}
