/* Proc connector client and /proc readers for exec auditing. */
#include "audit/procev.h"

#include "common/cleanup.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ACK_TIMEOUT_MS 1000
/* Large enough for the connector's datagrams, which carry one event. */
#define RECV_BUFFER_SIZE 8192

/* Send a multicast control operation (listen or ignore) to the kernel. */
static int send_op(int fd, enum proc_cn_mcast_op op, uint32_t seq)
{
    char buf[256] __attribute__((aligned(4))) = {0};
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct cn_msg *msg;

    nlh->nlmsg_type = NLMSG_DONE;
    nlh->nlmsg_seq = seq;
    msg = mnl_nlmsg_put_extra_header(nlh, sizeof(*msg) + sizeof(op));
    msg->id.idx = CN_IDX_PROC;
    msg->id.val = CN_VAL_PROC;
    msg->seq = seq;
    msg->ack = seq;
    msg->len = sizeof(op);
    memcpy(msg->data, &op, sizeof(op));
    if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel,
               sizeof(kernel)) < 0)
        return neg_errno();
    return 0;
}

/* Copy the proc_event out of a connector message; false if it is not
 * one.  The event sits at offset 36 of the datagram, which is not aligned
 * for its 64-bit timestamp, so it is copied rather than cast. */
static bool message_event(const struct nlmsghdr *nlh, struct proc_event *ret)
{
    const struct cn_msg *msg = mnl_nlmsg_get_payload(nlh);

    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*msg) ||
        msg->id.idx != CN_IDX_PROC || msg->id.val != CN_VAL_PROC ||
        msg->len < sizeof(*ret) ||
        mnl_nlmsg_get_payload_len(nlh) < sizeof(*msg) + msg->len)
        return false;
    memcpy(ret, msg->data, sizeof(*ret));
    return true;
}

/* Receive one datagram from the kernel; other senders are dropped. */
static ssize_t receive(int fd, char *buf, size_t size)
{
    struct sockaddr_nl from;
    socklen_t from_len = sizeof(from);
    ssize_t n;

    do {
        n = recvfrom(fd, buf, size, 0, (struct sockaddr *)&from, &from_len);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return neg_errno();
    if (from.nl_pid != 0)
        return 0;
    return n;
}

/* Wait for the acknowledgement of our listen request: the kernel answers
 * with PROC_EVENT_NONE, ack = our ack + 1 and the error of the request. */
static int wait_ack(int fd, uint32_t seq)
{
    char buf[RECV_BUFFER_SIZE] __attribute__((aligned(4)));
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    while (poll(&pfd, 1, ACK_TIMEOUT_MS) > 0) {
        ssize_t n = receive(fd, buf, sizeof(buf));
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

        if (n < 0 && n != -EAGAIN)
            return (int)n;
        for (int len = (int)(n > 0 ? n : 0); mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            const struct cn_msg *msg = mnl_nlmsg_get_payload(nlh);
            struct proc_event ev;

            if (message_event(nlh, &ev) && ev.what == PROC_EVENT_NONE &&
                msg->ack == seq + 1)
                return -(int)ev.event_data.ack.err;
        }
    }
    return -ETIMEDOUT;
}

static int explain_open_failure(int r, struct werr *err)
{
    switch (r) {
    case -ECONNREFUSED:
        return werr_errno(err, r, "cannot subscribe to the proc connector: "
                                  "it exists only in the initial network "
                                  "namespace, so executed programs will not "
                                  "be audited");
    case -EPERM:
        return werr_errno(err, r, "cannot subscribe to the proc connector: "
                                  "it needs CAP_NET_ADMIN");
    case -ETIMEDOUT:
        return werr_set(err, r, "the proc connector did not acknowledge the "
                                "subscription within %d ms: the kernel "
                                "ignores requests from outside the initial "
                                "user and PID namespaces", ACK_TIMEOUT_MS);
    default:
        return werr_errno(err, r, "cannot subscribe to the proc connector");
    }
}

int procev_open(struct werr *err)
{
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK,
                               .nl_groups = CN_IDX_PROC};
    _cleanup_close_ int fd = -1;
    uint32_t seq = (uint32_t)time(NULL);
    int r;

    fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                NETLINK_CONNECTOR);
    if (fd < 0)
        return werr_errno(err, neg_errno(),
                          "cannot open a NETLINK_CONNECTOR socket");
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return explain_open_failure(neg_errno(), err);
    if ((r = send_op(fd, PROC_CN_MCAST_LISTEN, seq)) < 0 ||
        (r = wait_ack(fd, seq)) < 0)
        return explain_open_failure(r, err);
    return TAKE_FD(fd);
}

void procev_close(int fd)
{
    if (fd < 0)
        return;
    send_op(fd, PROC_CN_MCAST_IGNORE, (uint32_t)time(NULL));
    close(fd);
}

/* Convert a kernel event; return false for kinds not reported. */
static bool convert(const struct proc_event *in, struct procev_event *out)
{
    memset(out, 0, sizeof(*out));
    out->timestamp_ns = in->timestamp_ns;
    switch (in->what) {
    case PROC_EVENT_FORK:
        out->kind = PROCEV_FORK;
        out->pid = in->event_data.fork.child_pid;
        out->tgid = in->event_data.fork.child_tgid;
        out->parent_pid = in->event_data.fork.parent_pid;
        out->parent_tgid = in->event_data.fork.parent_tgid;
        return true;
    case PROC_EVENT_EXEC:
        out->kind = PROCEV_EXEC;
        out->pid = in->event_data.exec.process_pid;
        out->tgid = in->event_data.exec.process_tgid;
        return true;
    case PROC_EVENT_EXIT:
        out->kind = PROCEV_EXIT;
        out->pid = in->event_data.exit.process_pid;
        out->tgid = in->event_data.exit.process_tgid;
        out->exit_code = in->event_data.exit.exit_code;
        out->exit_signal = in->event_data.exit.exit_signal;
        return true;
    default:
        return false;
    }
}

/* Call fn for each event in one datagram; return the count. */
static int dispatch(const char *buf, ssize_t n, procev_fn fn, void *userdata)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
    int count = 0;

    for (int len = (int)n; mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
        struct proc_event kev;
        struct procev_event ev;
        int r;

        if (!message_event(nlh, &kev) || !convert(&kev, &ev))
            continue;
        if ((r = fn(&ev, userdata)) < 0)
            return r;
        count++;
    }
    return count;
}

int procev_read(int fd, procev_fn fn, void *userdata, struct werr *err)
{
    char buf[RECV_BUFFER_SIZE] __attribute__((aligned(4)));
    int total = 0;

    for (;;) {
        ssize_t n = receive(fd, buf, sizeof(buf));
        int r;

        if (n == -EAGAIN)
            return total;
        if (n == -ENOBUFS)
            return werr_set(err, -ENOBUFS, "proc connector events were "
                                           "lost: the socket buffer "
                                           "overflowed");
        if (n < 0)
            return werr_errno(err, (int)n, "cannot read proc connector "
                                           "events");
        if ((r = dispatch(buf, n, fn, userdata)) < 0)
            return r;
        total += r;
    }
}

/* Read /proc/PID/cmdline: arguments joined by spaces, cut at
 * PROCEV_CMDLINE_MAX bytes. */
static int read_cmdline(int dirfd, struct procev_info *info)
{
    _cleanup_close_ int fd = openat(dirfd, "cmdline", O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    ssize_t n;

    if (fd < 0)
        return neg_errno();
    /* One byte more than kept, to see whether the line was cut. */
    while (len < PROCEV_CMDLINE_MAX + 1 &&
           (n = read(fd, info->cmdline + len, PROCEV_CMDLINE_MAX + 1 - len)) > 0)
        len += (size_t)n;
    info->cmdline_truncated = len > PROCEV_CMDLINE_MAX;
    if (info->cmdline_truncated)
        len = PROCEV_CMDLINE_MAX;
    while (len > 0 && info->cmdline[len - 1] == '\0')
        len--;
    for (size_t i = 0; i < len; i++)
        if (info->cmdline[i] == '\0')
            info->cmdline[i] = ' ';
    info->cmdline[len] = '\0';
    return 0;
}

static int read_status(int dirfd, struct procev_info *info)
{
    _cleanup_close_ int fd = openat(dirfd, "status", O_RDONLY | O_CLOEXEC);
    _cleanup_fclose_ FILE *f = NULL;
    char line[256];
    int found = 0;

    if (fd < 0 || !(f = fdopen(fd, "r")))
        return neg_errno();
    fd = -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned ruid, euid;
        int ppid;

        if (sscanf(line, "Name:\t%16[^\n]", info->comm) == 1)
            found |= 1;
        else if (sscanf(line, "PPid:\t%d", &ppid) == 1) {
            info->ppid = ppid;
            found |= 2;
        } else if (sscanf(line, "Uid:\t%u\t%u", &ruid, &euid) == 2) {
            info->uid = ruid;
            info->euid = euid;
            found |= 4;
        }
    }
    return found == 7 ? 0 : -EIO;
}

/* Prefer the cgroup v2 line "0::/path"; otherwise the first v1 line. */
static int read_cgroup(int dirfd, struct procev_info *info)
{
    _cleanup_close_ int fd = openat(dirfd, "cgroup", O_RDONLY | O_CLOEXEC);
    _cleanup_fclose_ FILE *f = NULL;
    char line[PROCEV_CGROUP_MAX + 64];

    if (fd < 0 || !(f = fdopen(fd, "r")))
        return neg_errno();
    fd = -1;
    info->cgroup[0] = '\0';
    while (fgets(line, sizeof(line), f)) {
        char *path = strchr(line, ':');

        path = path ? strchr(path + 1, ':') : NULL;
        if (!path)
            continue;
        path[strcspn(path, "\n")] = '\0';
        if (strncmp(line, "0::", 3) == 0 || info->cgroup[0] == '\0')
            snprintf(info->cgroup, sizeof(info->cgroup), "%s", path + 1);
        if (strncmp(line, "0::", 3) == 0)
            break;
    }
    return 0;
}

int procev_info_read(pid_t pid, struct procev_info *ret, struct werr *err)
{
    struct procev_info info = {.pid = pid};
    _cleanup_close_ int dirfd = -1;
    char path[32];
    int r;

    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return werr_errno(err, neg_errno(), "cannot open %s", path);
    if ((r = read_cmdline(dirfd, &info)) < 0 ||
        (r = read_status(dirfd, &info)) < 0 ||
        (r = read_cgroup(dirfd, &info)) < 0)
        return werr_errno(err, r == -ESRCH ? -ENOENT : r,
                          "cannot read the details of process %d", (int)pid);
    *ret = info;
    return 0;
}
