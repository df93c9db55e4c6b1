#!/bin/sh
# Run the syscall escape probes under the sandbox seccomp filter alone
# (no namespaces), through BUILD/tools/seccomp-exec, and print a summary.
# Builds nothing: run `make test-bins` first.  Needs root, so that
# seccomp-exec can drop to uid 65534 like the sandbox user.
#
# usage: tests/escape/run-under-seccomp.sh BUILD_DIR

set -u

build=${1:?usage: run-under-seccomp.sh BUILD_DIR}
exec_tool="$build/tools/seccomp-exec"
probes="mount userns clone3 setns ptrace tiocsti x32 i386 io_uring keyring
userfaultfd bpf perf_event_open open_by_handle_at chroot personality clock
swapon reboot module kexec syslog"

if [ ! -x "$exec_tool" ]; then
    echo "missing $exec_tool: run 'make test-bins' first" >&2
    exit 2
fi

passed=0
failed=0
for name in $probes; do
    probe="$build/escape/$name"
    if [ ! -x "$probe" ]; then
        echo "FAIL $name: $probe is missing"
        failed=$((failed + 1))
        continue
    fi
    # Denial lines from seccomp-exec go to stderr; keep only the verdict.
    if timeout 30 "$exec_tool" -- "$probe" 2>/dev/null; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "seccomp probes: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
