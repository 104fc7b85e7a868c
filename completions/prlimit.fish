complete -c prlimit -s p -l pid -d 'The process whose limits to show or change' -r
complete -c prlimit -s o -l output -d 'The columns: RESOURCE, DESCRIPTION, SOFT, HARD, UNITS' -r
complete -c prlimit -s v -l as -d 'address space limit' -r
complete -c prlimit -s c -l core -d 'max core file size' -r
complete -c prlimit -s t -l cpu -d 'CPU time' -r
complete -c prlimit -s d -l data -d 'max data size' -r
complete -c prlimit -s f -l fsize -d 'max file size' -r
complete -c prlimit -s x -l locks -d 'max number of file locks held' -r
complete -c prlimit -s l -l memlock -d 'max locked-in-memory address space' -r
complete -c prlimit -s q -l msgqueue -d 'max bytes in POSIX mqueues' -r
complete -c prlimit -s e -l nice -d 'max nice prio allowed to raise' -r
complete -c prlimit -s n -l nofile -d 'max number of open files' -r
complete -c prlimit -s u -l nproc -d 'max number of processes' -r
complete -c prlimit -s m -l rss -d 'max resident set size' -r
complete -c prlimit -s r -l rtprio -d 'max real-time priority' -r
complete -c prlimit -s y -l rttime -d 'timeout for real-time tasks' -r
complete -c prlimit -s i -l sigpending -d 'max number of pending signals' -r
complete -c prlimit -s s -l stack -d 'max stack size' -r
complete -c prlimit -l noheadings -d 'Print no headings'
complete -c prlimit -l raw -d 'The raw output format'
complete -c prlimit -l verbose -d 'Say each limit set with --pid'
complete -c prlimit -s h -l help -d 'Print the help'
complete -c prlimit -s V -l version -d 'Print the version'
