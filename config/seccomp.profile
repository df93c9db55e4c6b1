# Seccomp profile for processes inside a warden sandbox (x86_64).
#
# Grammar
#   A '#' starts a comment that runs to the end of the line; blank lines
#   are ignored.  A line "[allow]", "[deny]", "[kill]" or "[rules]" starts
#   a section.  In [allow], [deny] and [kill] every other line lists
#   syscall names separated by spaces:
#     [allow]  the syscall runs.
#     [deny]   the supervisor is notified (it records the tenant, the user
#              and the syscall) and the syscall fails with EPERM.
#     [kill]   the whole process is killed with SIGSYS.
#   Syscalls that appear nowhere fail with ENOSYS, so that libc falls back
#   to an older call (glibc retries clone3 as clone, for example).
#   Processes of another architecture (i386 through int 0x80) and x32
#   syscall numbers are killed.
#
#   [rules] lines filter on arguments, one rule per line:
#     SYSCALL: deny-flags ARG FLAG|FLAG...
#         deny when any of the flags is set in ARG, allow otherwise.
#     SYSCALL: deny-values ARG VALUE...
#         deny when ARG equals one of the values, allow otherwise.
#     SYSCALL: allow-values ARG VALUE...
#         allow when ARG equals one of the values, deny otherwise.
#     SYSCALL: allow-values ARG,ARG VALUE,VALUE...
#         the same on two arguments; "*" as the second value allows any.
#   ARG is arg0 to arg5 (the syscall's arguments in order), optionally
#   followed by &MASK.  deny-values and allow-values compare only the
#   masked bits, by default the low 32 bits, because the kernel truncates
#   int arguments such as the ioctl request: 0x100005412 is TIOCSTI too.
#   "deny" in [rules] means the same as the [deny] section.  A VALUE is a
#   number (decimal, 0x hexadecimal or 0 octal) or one of these names,
#   joined with '|' when several are given: CLONE_NEWNS CLONE_NEWUSER
#   CLONE_NEWPID CLONE_NEWNET CLONE_NEWUTS CLONE_NEWIPC CLONE_NEWCGROUP
#   CLONE_NEWTIME CLONE_FILES CLONE_FS CLONE_SYSVSEM TIOCSTI TIOCLINUX
#   AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET NETLINK_ROUTE PER_LINUX
#   S_IFMT S_IFIFO S_IFREG S_IFSOCK S_IFCHR S_IFBLK.
#
#   A syscall may appear once in the sections, or on one or more [rules]
#   lines, but not both.  Unknown syscall names are an error.

[allow]
# Descriptors and file data.
read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2
open openat openat2 creat close close_range lseek dup dup2 dup3 fcntl
flock fsync fdatasync sync syncfs sync_file_range ftruncate truncate
fallocate fadvise64 readahead sendfile copy_file_range splice tee vmsplice
pipe pipe2

# File metadata and the directory tree.
stat fstat lstat newfstatat statx statfs fstatfs access faccessat
faccessat2 readlink readlinkat getdents getdents64 getcwd chdir fchdir
mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2 link linkat
symlink symlinkat chmod fchmod fchmodat fchmodat2 chown fchown lchown
fchownat umask utime utimes utimensat futimesat
getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr setxattr
lsetxattr fsetxattr removexattr lremovexattr fremovexattr

# Memory.
brk mmap munmap mremap mprotect madvise msync mincore mlock mlock2 munlock
mlockall munlockall membarrier memfd_create get_mempolicy pkey_alloc
pkey_free pkey_mprotect

# Processes and threads (clone is filtered in [rules]; clone3 is left out
# on purpose because its flags live in memory a filter cannot read).
fork vfork execve execveat exit exit_group wait4 waitid kill tkill tgkill
getpid getppid gettid getpgid setpgid getpgrp getsid setsid
getuid geteuid getgid getegid getresuid getresgid getgroups
setuid setgid setreuid setregid setresuid setresgid setgroups setfsuid
setfsgid capget capset prctl arch_prctl set_tid_address set_robust_list
get_robust_list rseq futex futex_waitv restart_syscall
sched_yield sched_getaffinity sched_setaffinity sched_getparam
sched_setparam sched_getscheduler sched_setscheduler sched_getattr
sched_setattr sched_get_priority_max sched_get_priority_min
sched_rr_get_interval getpriority setpriority ioprio_get ioprio_set
getrlimit setrlimit prlimit64 getrusage times sysinfo uname getcpu
pidfd_open pidfd_send_signal
# Filters stack, so a process may only narrow its own syscalls further.
seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self

# Signals and time.
rt_sigaction rt_sigprocmask rt_sigreturn rt_sigsuspend rt_sigpending
rt_sigtimedwait rt_sigqueueinfo rt_tgsigqueueinfo sigaltstack alarm pause
signalfd signalfd4
nanosleep clock_nanosleep clock_gettime clock_getres gettimeofday time
getitimer setitimer timer_create timer_settime timer_gettime
timer_getoverrun timer_delete timerfd_create timerfd_settime
timerfd_gettime

# Waiting for events.
poll ppoll select pselect6 epoll_create epoll_create1 epoll_ctl epoll_wait
epoll_pwait epoll_pwait2 eventfd eventfd2 inotify_init inotify_init1
inotify_add_watch inotify_rm_watch

# Sockets (socket itself is filtered by family in [rules]).
socketpair bind connect listen accept accept4 getsockname getpeername
sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg shutdown setsockopt
getsockopt

# System V and POSIX IPC, private to the sandbox's IPC namespace.
shmget shmat shmdt shmctl semget semop semtimedop semctl msgget msgsnd
msgrcv msgctl mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify
mq_getsetattr

getrandom

[deny]
# Mounting and the new mount API.
mount umount2 pivot_root fsopen fsconfig fsmount fspick move_mount
open_tree mount_setattr chroot
# Entering namespaces (creating them is filtered on clone and unshare).
setns
# Reaching into other processes.
ptrace process_vm_readv process_vm_writev pidfd_getfd process_madvise kcmp
# Kernel attack surface that a data workspace does not need.
bpf perf_event_open userfaultfd io_uring_setup io_uring_enter
io_uring_register keyctl add_key request_key
# File handles bypass path-based checks and can reach outside the root.
open_by_handle_at name_to_handle_at
# Host administration.
init_module finit_module delete_module kexec_load kexec_file_load swapon
swapoff reboot syslog settimeofday clock_settime clock_adjtime adjtimex
acct quotactl quotactl_fd lookup_dcookie vhangup iopl ioperm nfsservctl

[kill]
# Nothing is killed by name; foreign architectures and x32 numbers are.

[rules]
# fork and pthread_create are clones without namespace flags.  CLONE_NEWTIME
# is left out because clone(2) reads that bit as part of the exit signal.
clone: deny-flags arg0 CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWCGROUP
# unshare(CLONE_FILES), unshare(CLONE_FS) and unshare(CLONE_SYSVSEM) only
# split state the process already owns, so they stay allowed.
unshare: deny-flags arg0 CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWCGROUP|CLONE_NEWTIME
# TIOCSTI pushes input into a terminal; TIOCLINUX can read and paste the
# console selection.
ioctl: deny-values arg1 TIOCSTI TIOCLINUX
# Netlink is limited to NETLINK_ROUTE, which glibc's getaddrinfo and
# getifaddrs use; without CAP_NET_ADMIN it can only read.
socket: allow-values arg0,arg2 AF_UNIX,* AF_INET,* AF_INET6,* AF_NETLINK,NETLINK_ROUTE
# Only the Linux personality and the query value; READ_IMPLIES_EXEC,
# ADDR_NO_RANDOMIZE and the rest are denied.
personality: allow-values arg0 PER_LINUX 0xffffffff
# FIFOs and regular files only; device nodes need capabilities anyway.
mknod: allow-values arg1&S_IFMT S_IFIFO S_IFREG 0
mknodat: allow-values arg2&S_IFMT S_IFIFO S_IFREG 0
