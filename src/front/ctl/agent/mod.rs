//! `leashctl agent`: wire leash under a coding agent, so that each shell command the
//! agent runs is a leash session of its own (install, list, remove).

mod codex;
mod command_line;
mod gemini;
pub(crate) mod hook;
mod hook_list;
mod install;
mod record;
mod settings;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::CtlError;

/// leashctl's arguments for Claude Code's hooks.
pub(crate) const CLAUDE_CODE_HOOK: [&str; 3] = ["agent", "hook", "claude-code"];

/// What `leashctl agent` does.
#[derive(Debug, Subcommand)]
pub(crate) enum AgentAction {
    /// Run each shell command of AGENT (claude-code, codex, gemini) under leash with the agent-command
    /// profile and LEASH_OPTIONS (given after --): a command that breaches a limit is
    /// stopped, its processes with it, the agent's model is told which limit, and the
    /// conversation goes on.
    Install(AgentInstall),
    /// List the agents leashctl wired, with their settings files and leash options.
    List,
    /// What the agent runs after a command fails (installed with the rest): the reason
    /// leash stopped the command, from its report, for the model.
    Hook {
        /// The agent (claude-code, codex, gemini).
        agent: String,
        /// leash's options for the command, where the hook writes its command line (Codex).
        #[arg(last = true, value_name = "LEASH_OPTION")]
        leash_options: Vec<String>,
    },
    /// Undo an install: the settings file as it was before, the shell leashctl wrote removed.
    Remove {
        /// The agent (claude-code, codex, gemini).
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
    /// The agent (claude-code, codex, gemini).
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
    /// Anthropic's Claude Code: its `CLAUDE_CODE_SHELL` setting, and its hooks.
    ClaudeCode,
    /// OpenAI's Codex CLI: a PreToolUse hook that rewrites each shell command.
    Codex,
    /// Google's Gemini CLI: a BeforeTool hook that rewrites each shell command.
    Gemini,
}

impl Agent {
    fn named(name: &str, action: &str) -> Result<Agent, CtlError> {
        match name {
            "claude-code" => Ok(Agent::ClaudeCode),
            "codex" => Ok(Agent::Codex),
            "gemini" => Ok(Agent::Gemini),
            _ => Err(CtlError::Usage(format!(
                "agent {action}: no agent `{}`: leashctl knows claude-code, codex and gemini",
                crate::machine::printable::printable(name)
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
        }
    }
}

/// Carry out `leashctl agent ACTION`.
pub(crate) fn run(action: AgentAction) -> Result<(), CtlError> {
    match action {
        AgentAction::Install(given) => {
            let agent = Agent::named(&given.agent, "install")?;
            let said = match agent {
                Agent::ClaudeCode => {
                    let file = settings::path(&given.place)?;
                    install::install(&file, &given.leash_options)?
                }
                Agent::Codex => {
                    user_only(agent, &given.place, "install")?;
                    codex::install(&given.leash_options)?
                }
                Agent::Gemini => {
                    user_only(agent, &given.place, "install")?;
                    gemini::install(&given.leash_options)?
                }
            };
            super::out(&said)
        }
        AgentAction::List => super::out(&list()?),
        AgentAction::Hook {
            agent,
            leash_options,
        } => match Agent::named(&agent, "hook")? {
            Agent::ClaudeCode => hook::run(),
            agent => hook::run_rewrite(agent, &leash_options),
        },
        AgentAction::Remove { agent, place } => {
            let agent = Agent::named(&agent, "remove")?;
            let said = match agent {
                Agent::ClaudeCode => install::remove(&settings::path(&place)?)?,
                Agent::Codex => {
                    user_only(agent, &place, "remove")?;
                    codex::remove()?
                }
                Agent::Gemini => {
                    user_only(agent, &place, "remove")?;
                    gemini::remove()?
                }
            };
            super::out(&said)
        }
    }
}

/// Codex and Gemini CLI are wired for the user: their project hooks run only in projects
/// they were told to trust.
fn user_only(agent: Agent, place: &SettingsPlace, action: &str) -> Result<(), CtlError> {
    match place.project {
        Some(_) => Err(CtlError::Usage(format!(
            "agent {action}: --project: leashctl wires {} for the user only",
            agent.name()
        ))),
        None => Ok(()),
    }
}

/// One line per install: agent, settings file, leash options.
fn list() -> Result<String, CtlError> {
    let mut text = String::new();
    for wired in &record::load()? {
        let live = match Agent::named(&wired.agent, "list") {
            Ok(Agent::ClaudeCode) => install::is_live(wired),
            Ok(Agent::Codex) => codex::is_live(wired),
            Ok(Agent::Gemini) => gemini::is_live(wired),
            Err(_) => false,
        };
        let _ = writeln!(
            text,
            "{}  {}  {}{}",
            wired.agent,
            crate::machine::printable::printable(&wired.settings.display().to_string()),
            command_line::leash_line(&wired.leash_options),
            if live {
                ""
            } else {
                " (not wired: the settings no longer name it)"
            }
        );
    }
    Ok(text)
}

/// What a successful install says.
fn installed_line(agent: Agent, options: &[String], file: &Path) -> String {
    format!(
        "installed: each shell command of {} runs under {} ({}); undo with leashctl agent \
         remove {}\n",
        agent.name(),
        command_line::leash_line(options),
        file.display(),
        agent.name()
    )
}

/// The refusal to remove what leashctl did not wire.
fn not_wired(agent: Agent, file: &Path) -> CtlError {
    CtlError::Usage(format!(
        "agent remove: leashctl did not wire {} in {}",
        agent.name(),
        file.display()
    ))
}
