//! `leashctl agent install/list/remove` on settings files, without the agent: merged
//! into what is there, idempotent, undone byte for byte, refusals that change nothing;
//! and the shell it wires Claude Code with, run as Claude Code runs it; Codex's hooks and
//! trust, Gemini CLI's hooks.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::Sandbox;

/// `leashctl agent ARGS` with the sandbox as HOME.
fn leashctl(sandbox: &Sandbox, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leashctl"))
        .arg("agent")
        .args(args)
        .env("HOME", sandbox.dir())
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("CODEX_HOME")
        .env_remove("GEMINI_CLI_HOME")
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("leashctl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The user's Claude Code settings in the sandbox, holding `content`.
fn settings_with(sandbox: &Sandbox, content: &str) -> PathBuf {
    let file = sandbox.path(".claude/settings.json");
    fs::create_dir_all(file.parent().expect("a directory")).expect(".claude/");
    fs::write(&file, content).expect("settings.json");
    file
}

/// The shell the settings name.
fn shell(file: &Path) -> PathBuf {
    let settings: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(file).expect("settings")).expect("JSON");
    PathBuf::from(
        settings["env"]["CLAUDE_CODE_SHELL"]
            .as_str()
            .expect("the shell"),
    )
}

/// What the shell the settings name stands for: the real shell and leash's options.
fn shell_settings(file: &Path) -> serde_json::Value {
    let beside = shell(file).with_file_name("agent-shell.json");
    serde_json::from_str(&fs::read_to_string(beside).expect("agent-shell.json")).expect("JSON")
}

/// Settings as a user keeps them: four spaces, keys in their order, an env of their own.
const SETTINGS: &str = "{\n    \"model\": \"opus\",\n    \"env\": {\"ZED\": \"1\", \"ALPHA\": \"é\"},\n    \
                        \"permissions\": {\"allow\": [\"Bash(ls:*)\"]}\n}\n";

#[test]
fn install_merges_is_idempotent_and_remove_restores_the_file_byte_for_byte() {
    let sandbox = Sandbox::new();
    let file = settings_with(&sandbox, SETTINGS);
    for _ in 0..2 {
        let installed = leashctl(&sandbox, &["install", "claude-code", "--", "--mem", "1G"]);
        assert!(installed.status.success(), "{}", text(&installed.stderr));
    }
    let merged = fs::read_to_string(&file).expect("settings");
    let order = [
        "\"model\"",
        "\"env\"",
        "\"ZED\"",
        "\"ALPHA\"",
        "CLAUDE_CODE_SHELL",
    ];
    let at: Vec<usize> = order.iter().map(|k| merged.find(k).expect(k)).collect();
    assert!(at.is_sorted(), "keys out of their order: {merged}");
    assert!(
        merged.contains("\"é\"") && merged.contains("Bash(ls:*)"),
        "{merged}"
    );
    let program = shell(&file);
    assert!(program.ends_with("leash-bash"), "{}", program.display());
    assert_eq!(
        shell_settings(&file)["options"],
        serde_json::json!(["--mem", "1G"])
    );
    let listed = text(&leashctl(&sandbox, &["list"]).stdout);
    assert!(listed.starts_with("claude-code  "), "{listed}");
    assert!(
        listed.contains("--profile agent-command --mem 1G"),
        "{listed}"
    );

    let removed = leashctl(&sandbox, &["remove", "claude-code"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert_eq!(fs::read_to_string(&file).expect("settings"), SETTINGS);
    let dir = program.parent().expect("its directory");
    assert!(!dir.exists(), "{} is left", dir.display());
    assert_eq!(text(&leashctl(&sandbox, &["list"]).stdout), "");
    let again = leashctl(&sandbox, &["remove", "claude-code"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(fs::read_to_string(&file).expect("settings"), SETTINGS);
}

#[test]
fn an_install_of_the_earlier_prefix_shape_is_replaced_and_still_undone_byte_for_byte() {
    // What an earlier leashctl left: a prefix program and its record.
    let sandbox = Sandbox::new();
    let file = settings_with(&sandbox, SETTINGS);
    let dir = sandbox.path(".local/share/leash/agents/claude-code-0000000000000000");
    fs::create_dir_all(&dir).expect("the program's directory");
    let prefix = dir.join("shell-prefix");
    fs::write(&prefix, "#!/bin/sh\n").expect("the old prefix");
    let mut installed: serde_json::Value = serde_json::from_str(SETTINGS).expect("JSON");
    installed["env"]["CLAUDE_CODE_SHELL_PREFIX"] = prefix.display().to_string().into();
    let installed = serde_json::to_string_pretty(&installed).expect("JSON") + "\n";
    fs::write(&file, &installed).expect("settings");
    let record = serde_json::json!([{
        "agent": "claude-code", "settings": file, "program": prefix,
        "leash_options": [], "original": SETTINGS, "installed": installed,
    }]);
    fs::write(dir.with_file_name("installs.json"), record.to_string()).expect("record");

    let again = leashctl(&sandbox, &["install", "claude-code"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let now = fs::read_to_string(&file).expect("settings");
    assert!(
        now.contains("CLAUDE_CODE_SHELL\"") && !now.contains("CLAUDE_CODE_SHELL_PREFIX"),
        "{now}"
    );
    assert!(!prefix.exists(), "the old prefix is left");
    let removed = leashctl(&sandbox, &["remove", "claude-code"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert_eq!(fs::read_to_string(&file).expect("settings"), SETTINGS);
}

#[test]
fn with_no_settings_file_remove_leaves_none() {
    let sandbox = Sandbox::new();
    let file = sandbox.path(".claude/settings.json");
    let installed = leashctl(&sandbox, &["install", "claude-code"]);
    assert!(installed.status.success(), "{}", text(&installed.stderr));
    assert!(shell(&file).is_file());
    let removed = leashctl(&sandbox, &["remove", "claude-code"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert!(!file.exists());
}

#[test]
fn refusals_are_one_line_and_change_nothing() {
    let sandbox = Sandbox::new();
    let cases: [(&str, &[&str]); 5] = [
        (SETTINGS, &["install", "codex-x"]),
        ("{\"env\": {", &["install", "claude-code"]),
        ("[1, 2]", &["install", "claude-code"]),
        (SETTINGS, &["install", "claude-code", "--", "--mem", "lots"]),
        // The shell gives leash a report of its own: a second would make every command
        // exit 125.
        (
            SETTINGS,
            &["install", "claude-code", "--", "--report", "r.json"],
        ),
    ];
    for (content, args) in cases {
        let file = settings_with(&sandbox, content);
        let refused = leashctl(&sandbox, args);
        let said = text(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {said}");
        assert_eq!(said.lines().count(), 1, "{args:?}: {said}");
        assert!(said.starts_with("leashctl: agent"), "{args:?}: {said}");
        assert_eq!(fs::read_to_string(&file).expect("settings"), content);
        assert!(!sandbox.path(".local/share/leash").exists(), "{args:?}");
    }
    // A shell of someone else's is not replaced.
    let file = settings_with(
        &sandbox,
        "{\"env\": {\"CLAUDE_CODE_SHELL\": \"/usr/local/bin/mine\"}}",
    );
    let refused = leashctl(&sandbox, &["install", "claude-code"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("/usr/local/bin/mine"));
    assert!(fs::read_to_string(&file).is_ok_and(|t| t.contains("/usr/local/bin/mine")));
}

#[test]
fn the_shell_runs_claude_codes_script_in_a_session_and_the_rest_as_bash() {
    let sandbox = Sandbox::new();
    let file = settings_with(&sandbox, "{}");
    let installed = leashctl(&sandbox, &["install", "claude-code", "--", "--procs", "64"]);
    assert!(installed.status.success(), "{}", text(&installed.stderr));
    // As Claude Code runs a Bash command: `SHELL -c SCRIPT`, the script ending as a Bash
    // command's does (recording the working directory).
    let script = "echo \"$0\" out; echo err >&2; exit 3 && pwd -P >| cwd";
    let mut run_shell = sandbox.capped(shell(&file).to_str().expect("UTF-8"));
    run_shell.args(["-c", script]);
    let run = sandbox.start_prepared(run_shell, "").finish();
    assert_eq!(run.code(), Some(3), "{}", run.stderr);
    assert_eq!(run.stdout, "/bin/bash out\n");
    assert_eq!(run.stderr, "err\n");
    let mut bomb = sandbox.capped(shell(&file).to_str().expect("UTF-8"));
    bomb.args(["-c", "b() { b | b & }; b; sleep 30 && pwd -P >| cwd"]);
    let run = sandbox.start_prepared(bomb, "").finish();
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    assert!(
        run.stderr.contains("leash: process limit 64"),
        "{}",
        run.stderr
    );
    // Claude Code's own uses of its shell (its environment, its snapshot) run in bash
    // itself, exec'd: no session (a session would say nothing here, but would be leash's
    // child, not the shell itself).
    let mut own = sandbox.capped(shell(&file).to_str().expect("UTF-8"));
    own.args(["-c", "-l", "echo $(readlink /proc/$$/exe)"]);
    let run = sandbox.start_prepared(own, "").finish();
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(run.stdout.ends_with("bash\n"), "{}", run.stdout);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn the_hooks_run_leashctl_itself_with_no_shell_between() {
    // The PreToolUse hook runs before every Bash command: a shell started for it cost each
    // command some 2 ms. Claude Code runs a hook with `args` as that program, directly.
    let sandbox = Sandbox::new();
    let file = settings_with(&sandbox, "{}");
    let installed = leashctl(&sandbox, &["install", "claude-code"]);
    assert!(installed.status.success(), "{}", text(&installed.stderr));
    let settings: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).expect("settings")).expect("JSON");
    for event in ["PreToolUse", "PostToolUseFailure"] {
        let hook = &settings["hooks"][event][0]["hooks"][0];
        assert_eq!(hook["command"], env!("CARGO_BIN_EXE_leashctl"), "{hook}");
        assert_eq!(
            hook["args"],
            serde_json::json!(["agent", "hook", "claude-code"])
        );
    }
    let call = r#"{"hook_event_name": "PreToolUse", "tool_name": "Bash",
                   "tool_input": {"command": "sleep 1", "run_in_background": true}}"#;
    let mut hook = sandbox.capped(env!("CARGO_BIN_EXE_leashctl"));
    hook.args(["agent", "hook", "claude-code"]);
    let run = sandbox.start_prepared(hook, call).finish();
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let answer: serde_json::Value = serde_json::from_str(&run.stdout).expect("the hook's JSON");
    let command = answer["hookSpecificOutput"]["updatedInput"]["command"]
        .as_str()
        .unwrap_or_default();
    assert!(
        command.ends_with("sleep 1") && command.starts_with(':'),
        "{answer}"
    );
}

#[test]
fn remove_after_the_user_changed_the_settings_takes_out_only_leashs_keys() {
    let sandbox = Sandbox::new();
    let file = settings_with(&sandbox, SETTINGS);
    let installed = leashctl(&sandbox, &["install", "claude-code"]);
    assert!(installed.status.success(), "{}", text(&installed.stderr));
    let mut changed: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).expect("settings")).expect("JSON");
    changed["theme"] = "dark".into();
    fs::write(&file, changed.to_string()).expect("settings");
    let removed = leashctl(&sandbox, &["remove", "claude-code"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    let after: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).expect("settings")).expect("JSON");
    let mut expected: serde_json::Value = serde_json::from_str(SETTINGS).expect("JSON");
    expected["theme"] = "dark".into();
    assert_eq!(after, expected);
}

/// Codex's hooks as a user keeps them: four spaces, a hook of their own before and after.
const CODEX_HOOKS: &str = "{\n    \"hooks\": {\n        \"PreToolUse\": [{\"matcher\": \"Bash\", \
                           \"hooks\": [{\"type\": \"command\", \"command\": \"/opt/audit\"}]}],\n        \
                           \"Stop\": []\n    }\n}\n";

/// Codex's config as a user keeps it, without a newline at its end.
const CODEX_CONFIG: &str =
    "model = \"gpt-x\"\n[hooks.state.\"/x/hooks.json:stop:0:0\"]\nenabled = false";

/// Codex's hooks.json and config.toml in the sandbox's `.codex`, holding `hooks` and
/// `config` (none: no file).
fn codex_files(sandbox: &Sandbox, hooks: Option<&str>, config: Option<&str>) -> [PathBuf; 2] {
    let files = [
        sandbox.path(".codex/hooks.json"),
        sandbox.path(".codex/config.toml"),
    ];
    fs::create_dir_all(sandbox.path(".codex")).expect(".codex/");
    for (file, content) in files.iter().zip([hooks, config]) {
        let _ = fs::remove_file(file);
        if let Some(content) = content {
            fs::write(file, content).expect("a Codex file");
        }
    }
    files
}

#[test]
fn codex_install_is_trusted_idempotent_and_undone_byte_for_byte() {
    let sandbox = Sandbox::new();
    let [hooks, config] = codex_files(&sandbox, Some(CODEX_HOOKS), Some(CODEX_CONFIG));
    for _ in 0..2 {
        let installed = leashctl(&sandbox, &["install", "codex", "--", "--mem", "1G"]);
        assert!(installed.status.success(), "{}", text(&installed.stderr));
    }
    let wired: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&hooks).expect("hooks")).expect("JSON");
    let groups = wired["hooks"]["PreToolUse"].as_array().expect("a list");
    assert_eq!(groups.len(), 2, "{wired:#}");
    assert_eq!(groups[0]["hooks"][0]["command"], "/opt/audit");
    let hook = groups[1]["hooks"][0]["command"]
        .as_str()
        .expect("leash's hook");
    // Trusted where Codex looks: by file, event and place (the second group).
    let trust: toml::Table = fs::read_to_string(&config)
        .expect("config")
        .parse()
        .expect("TOML");
    let key = format!("{}:pre_tool_use:1:0", hooks.display());
    let hash = trust["hooks"]["state"][&key]["trusted_hash"]
        .as_str()
        .expect("a hash");
    assert!(hash.starts_with("sha256:"), "{trust:#?}");
    assert_eq!(trust["model"].as_str(), Some("gpt-x"));
    // The hook rewrites a command into a leash session with the install's options.
    let answer = Command::new("sh")
        .args([
            "-c",
            &format!("echo '{{\"tool_input\": {{\"command\": \"ls\"}}}}' | {hook}"),
        ])
        .output()
        .expect("the hook");
    let answer = text(&answer.stdout);
    assert!(
        answer.contains(
            "--profile agent-command --die-with-parent --die-with \\\"$PPID\\\" --mem 1G -- "
        ),
        "{answer}"
    );
    let listed = text(&leashctl(&sandbox, &["list"]).stdout);
    assert!(
        listed.starts_with("codex  ") && listed.contains("--mem 1G"),
        "{listed}"
    );

    let removed = leashctl(&sandbox, &["remove", "codex"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert_eq!(fs::read_to_string(&hooks).expect("hooks"), CODEX_HOOKS);
    assert_eq!(fs::read_to_string(&config).expect("config"), CODEX_CONFIG);
    assert_eq!(text(&leashctl(&sandbox, &["list"]).stdout), "");
    // Without files before, none after.
    let [hooks, config] = codex_files(&sandbox, None, None);
    assert!(leashctl(&sandbox, &["install", "codex"]).status.success());
    assert!(hooks.is_file() && config.is_file());
    assert!(leashctl(&sandbox, &["remove", "codex"]).status.success());
    assert!(!hooks.exists() && !config.exists());
}

#[test]
fn codex_refusals_are_one_line_and_change_nothing() {
    let sandbox = Sandbox::new();
    let cases: [(&str, &str, &[&str]); 4] = [
        ("{\"hooks\": [", CODEX_CONFIG, &["install", "codex"]),
        (CODEX_HOOKS, "model = ", &["install", "codex"]),
        (
            CODEX_HOOKS,
            CODEX_CONFIG,
            &["install", "codex", "--project", "."],
        ),
        (
            CODEX_HOOKS,
            CODEX_CONFIG,
            &["install", "codex", "--", "--mem", "lots"],
        ),
    ];
    for (hooks_text, config_text, args) in cases {
        let [hooks, config] = codex_files(&sandbox, Some(hooks_text), Some(config_text));
        let refused = leashctl(&sandbox, args);
        let said = text(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {said}");
        assert_eq!(said.lines().count(), 1, "{args:?}: {said}");
        assert!(said.starts_with("leashctl: agent"), "{args:?}: {said}");
        assert_eq!(fs::read_to_string(&hooks).expect("hooks"), hooks_text);
        assert_eq!(fs::read_to_string(&config).expect("config"), config_text);
        assert!(!sandbox.path(".local/share/leash").exists(), "{args:?}");
    }
}

/// Gemini CLI's settings as a user keeps them: four spaces, a hook of their own.
const GEMINI_SETTINGS: &str = "{\n    \"security\": {\"auth\": {\"selectedType\": \"gemini-api-key\"}},\n    \
                               \"hooks\": {\"BeforeTool\": [{\"matcher\": \"write_file\", \
                               \"hooks\": [{\"type\": \"command\", \"command\": \"/opt/audit\"}]}]}\n}\n";

#[test]
fn gemini_install_is_idempotent_and_undone_byte_for_byte() {
    let sandbox = Sandbox::new();
    let file = sandbox.path(".gemini/settings.json");
    fs::create_dir_all(sandbox.path(".gemini")).expect(".gemini/");
    fs::write(&file, GEMINI_SETTINGS).expect("settings");
    for _ in 0..2 {
        let installed = leashctl(&sandbox, &["install", "gemini", "--", "--wall", "20m"]);
        assert!(installed.status.success(), "{}", text(&installed.stderr));
    }
    let wired: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).expect("settings")).expect("JSON");
    let groups = wired["hooks"]["BeforeTool"].as_array().expect("a list");
    assert_eq!(groups.len(), 2, "{wired:#}");
    assert_eq!(groups[1]["matcher"], "run_shell_command");
    assert_eq!(wired["security"]["auth"]["selectedType"], "gemini-api-key");
    let hook = groups[1]["hooks"][0]["command"]
        .as_str()
        .expect("leash's hook");
    let call = "{\"hook_event_name\": \"BeforeTool\", \"tool_input\": {\"command\": \"ls\"}}";
    let answer = Command::new("sh")
        .args(["-c", &format!("echo '{call}' | {hook}")])
        .output()
        .expect("the hook");
    let answer = text(&answer.stdout);
    assert!(
        answer.contains("--die-with \\\"$PPID\\\" --wall 20m -- "),
        "{answer}"
    );
    let listed = text(&leashctl(&sandbox, &["list"]).stdout);
    assert!(
        listed.starts_with("gemini  ") && listed.contains("--wall 20m"),
        "{listed}"
    );
    let removed = leashctl(&sandbox, &["remove", "gemini"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert_eq!(
        fs::read_to_string(&file).expect("settings"),
        GEMINI_SETTINGS
    );
    let refused = leashctl(&sandbox, &["install", "gemini", "--project", "."]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(text(&refused.stderr).lines().count(), 1);
    fs::write(&file, "{\"hooks\": {\"BeforeTool\": {}}}").expect("settings");
    let refused = leashctl(&sandbox, &["install", "gemini"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert_eq!(
        fs::read_to_string(&file).expect("settings"),
        "{\"hooks\": {\"BeforeTool\": {}}}"
    );
}
