complete -c timeout -s k -l kill-after -d 'Also send KILL if COMMAND is still running this long after the first signal' -r
complete -c timeout -s s -l signal -d 'The signal sent on timeout (default TERM): a name (HUP, SIGHUP), a number, or 0' -r
complete -c timeout -s f -l foreground -d 'Leave COMMAND in the caller\'s process group, so that it can read from the terminal and get its signals; only COMMAND itself is sent the timeout\'s signals'
complete -c timeout -s p -l preserve-status -d 'Exit with COMMAND\'s status even when it timed out'
complete -c timeout -s v -l verbose -d 'Say on stderr each signal sent on timeout'
complete -c timeout -l help -d 'Print the help'
complete -c timeout -l version -d 'Print the version'
