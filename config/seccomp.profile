[allow]
read write close exit exit_group execve sendmsg rt_sigreturn
[deny]
mount
[rules]
ioctl: deny-values arg1 TIOCSTI TIOCLINUX
