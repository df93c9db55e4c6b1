/* bpf(2): loading programs or creating maps exposes the BPF verifier and
 * JIT, a frequent source of kernel exploits.  Stopped by the seccomp
 * filter (EPERM); most distributions also set
 * kernel.unprivileged_bpf_disabled, which gives EPERM without the
 * filter. */
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

int main(void)
{
    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr load = {
        .prog_type = BPF_PROG_TYPE_SOCKET_FILTER,
        .insn_cnt = 2,
        .insns = (unsigned long)prog,
        .license = (unsigned long)"GPL",
    };
    union bpf_attr map = {
        .map_type = BPF_MAP_TYPE_ARRAY,
        .key_size = 4,
        .value_size = 8,
        .max_entries = 1,
    };

    probe_name = "bpf";
    EXPECT_ERRNO(EPERM, syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load)));
    EXPECT_ERRNO(EPERM, syscall(SYS_bpf, BPF_MAP_CREATE, &map, sizeof(map)));
    return probe_finish("bpf program load and map creation return EPERM");
}
