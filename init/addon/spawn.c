// Starting a service: clone3() straight into its cgroup (CLONE_INTO_CGROUP), so that not even its
// first instruction runs outside it and no shell has to move it there; an exec that fails comes
// back as the errno of execve (ENOENT, EACCES), not as an exit status the program could also give.
// The child shares PID 1's memory until its exec (CLONE_VM | CLONE_VFORK, as posix_spawn does): a
// fork would copy PID 1's page tables and leave every page of its heap write-protected, and each
// first write after it then faults (some 8 ms for 40 MB natively, many times that under TCG).
// aios-init reaps these children itself (waitpid), which is why Node's child_process is not used.
#define _GNU_SOURCE
#include "napi_util.h"
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef __x86_64__
#error "spawn.c starts the child on a stack of its own with x86-64 assembly: aiOS images are x86-64"
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLONE_VM
#define CLONE_VM 0x100
#endif
#ifndef CLONE_VFORK
#define CLONE_VFORK 0x4000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

// The kernel's struct clone_args up to the cgroup field (Linux 5.7), kept here so that the build
// does not depend on which kernel headers the host has.
struct aios_clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static void free_strv(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

// A JS array of strings as a NULL-terminated vector, built before the clone: the child allocates nothing.
static char **get_strv(napi_env env, napi_value arr) {
  uint32_t n;
  if (napi_get_array_length(env, arr, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an array of strings");
    return NULL;
  }
  char **v = calloc(n + 1, sizeof *v);
  if (!v) return (char **)throw_errno(env, "spawn", ENOMEM);
  for (uint32_t i = 0; i < n; i++) {
    napi_value s;
    size_t len;
    if (napi_get_element(env, arr, i, &s) != napi_ok || napi_get_value_string_utf8(env, s, NULL, 0, &len) != napi_ok) {
      free_strv(v);
      napi_throw_type_error(env, NULL, "expected an array of strings");
      return NULL;
    }
    v[i] = malloc(len + 1);
    if (!v[i]) {
      free_strv(v);
      return (char **)throw_errno(env, "spawn", ENOMEM);
    }
    napi_get_value_string_utf8(env, s, v[i], len + 1, &len);
  }
  return v;
}

// What the child needs, in memory it shares with PID 1, whose thread waits (CLONE_VFORK) until
// the child has exec'd or exited.
struct child_job {
  const char *file;
  char **argv, **envp;
  int fds[3];
  int64_t keep_caps; // capabilities the program keeps, one bit each; -1: all of PID 1's
  int nice;          // its nice value (-20 to 19)
  // The user it runs as: ids[0] uid, ids[1] gid, then its supplementary groups; nids 0: PID 1's (root).
  gid_t *ids;
  size_t nids;
  const char *root; // a directory it sees as / (chroot), or NULL
  const char *cwd;  // its working directory (inside root), or NULL for /
  int err; // execve's errno (or that of a dup2 before it), written by the child when it gives up
};

// Root regains every capability in its bounding set at exec, so the bounding set is what limits
// a service run as root; inheritable and ambient are cut to the same set so that none comes back
// through them, and no_new_privs keeps a setuid or file-capability program from adding any.
static int limit_caps(int64_t keep) {
  for (int c = 0; c < 64; c++)
    if (!((uint64_t)keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) return -1;
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0) return -1;
  for (int i = 0; i < 2; i++) {
    uint32_t k = (uint32_t)((uint64_t)keep >> (32 * i));
    d[i].effective &= k;
    d[i].permitted &= k;
    d[i].inheritable &= k;
  }
  if (syscall(SYS_capset, &h, d) < 0) return -1;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -1;
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

// A service of another user: the bounding set cut while still root (that needs CAP_SETPCAP), the
// groups and ids set for good (setres*: real, effective and saved alike, so none can be taken
// back), and the capabilities it keeps raised as ambient ones, the only kind a program of a
// non-root user keeps across its exec. no_new_privs whatever it keeps.
static int become_user(const gid_t *ids, size_t nids, int64_t keep) {
  uint64_t k = keep < 0 ? 0 : (uint64_t)keep;
  for (int c = 0; c < 64; c++)
    if (!(k & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) return -1;
  if (setgroups(nids - 2, ids + 2) < 0 || setresgid(ids[1], ids[1], ids[1]) < 0) return -1;
  if (k && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return -1;
  if (setresuid(ids[0], ids[0], ids[0]) < 0) return -1;
  if (k) {
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    for (int i = 0; i < 2; i++) {
      uint32_t half = (uint32_t)(k >> (32 * i));
      d[i].effective = d[i].permitted = d[i].inheritable = half;
    }
    if (syscall(SYS_capset, &h, d) < 0) return -1;
    for (int c = 0; c < 64; c++)
      if ((k & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) return -1;
  }
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

#define CHILD_STACK (64 * 1024)

// In the child, before execve: on a stack of its own, only system calls, no allocation (other
// threads of Node may hold malloc's lock) and no write to PID 1's memory but job->err and fds.
// Never returns.
__attribute__((noreturn)) static void child(struct child_job *job) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  // Node ignores SIGPIPE and handles others; an exec keeps ignored signals ignored. Without
  // CLONE_SIGHAND these are the child's own copies of the handlers, not PID 1's.
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, NULL);
  int *fds = job->fds;
  // A descriptor that is already 0-2 but in another slot is moved up first, so no dup2 closes one still needed.
  for (int i = 0; i < 3; i++)
    if (fds[i] < 3 && fds[i] != i) fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
  for (int i = 0; i < 3; i++) {
    if (fds[i] < 0) goto fail;
    if (fds[i] == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(fds[i], i) < 0) goto fail;
  }
  // What PID 1 inherited without close-on-exec (from stage 1, say) is no service's business.
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  // Before the capabilities go: a nice value below 0 needs CAP_SYS_NICE.
  if (job->nice && setpriority(PRIO_PROCESS, 0, job->nice) < 0) goto fail;
  // While still root: chroot needs CAP_SYS_CHROOT. The working directory is entered as the user,
  // so that it is one the user may enter.
  if (job->root && (chroot(job->root) < 0 || chdir("/") < 0)) goto fail;
  if (job->nids ? become_user(job->ids, job->nids, job->keep_caps) < 0 : job->keep_caps >= 0 && limit_caps(job->keep_caps) < 0) goto fail;
  if (job->cwd && chdir(job->cwd) < 0) goto fail;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(job->file, job->argv, job->envp);
fail:
  job->err = errno ? errno : ENOEXEC;
  _exit(127);
}

// clone3 with the child on `args->stack`: the child calls child(job) there and never comes back
// into this function's frame, which is PID 1's. Returns the pid, or -errno.
static long clone3_on_stack(struct aios_clone_args *args, struct child_job *job) {
  register long nr asm("rax") = SYS_clone3;
  register void *a asm("rdi") = args;
  register size_t size asm("rsi") = sizeof *args;
  register void (*fn)(struct child_job *) asm("r12") = child;
  register struct child_job *j asm("r13") = job;
  asm volatile("syscall\n\t"
               "test %%rax, %%rax\n\t"
               "jnz 1f\n\t"
               "xor %%ebp, %%ebp\n\t"
               "mov %%r13, %%rdi\n\t"
               "call *%%r12\n\t"
               "ud2\n"
               "1:"
               : "+r"(nr)
               : "r"(a), "r"(size), "r"(fn), "r"(j)
               : "rcx", "r11", "memory");
  return nr;
}

// spawn(file, argv, env, [stdin, stdout, stderr], cgroupFd, keepCaps, nice, ids, root, cwd): pid.
// A descriptor of -1 is /dev/null; cgroupFd -1 leaves the child in aios-init's cgroup; keepCaps is
// a mask of capability numbers, -1 for all; ids is [uid, gid, ...groups], or [] to stay root; root
// and cwd are directories ("" for none: no chroot, /). Throws with the errno of a failed exec (or
// of the settings before it).
napi_value js_spawn(napi_env env, napi_callback_info info) {
  ARGS(10);
  ARG_STR(0, file);
  ARG_STR(8, root);
  ARG_STR(9, cwd);
  int64_t stdio[3], cgroup;
  for (uint32_t i = 0; i < 3; i++) {
    napi_value v;
    if (napi_get_element(env, argv[3], i, &v) != napi_ok || get_int(env, v, &stdio[i])) return NULL;
  }
  int64_t keep_caps, nice;
  if (get_int(env, argv[4], &cgroup) || get_int(env, argv[5], &keep_caps) || get_int(env, argv[6], &nice)) return NULL;
  char **cargv = get_strv(env, argv[1]);
  if (!cargv) return NULL;
  char **cenv = get_strv(env, argv[2]);
  if (!cenv) {
    free_strv(cargv);
    return NULL;
  }
  uint32_t nids;
  if (napi_get_array_length(env, argv[7], &nids) != napi_ok || nids == 1 || nids > 2 + 64) {
    free_strv(cargv);
    free_strv(cenv);
    napi_throw_type_error(env, NULL, "ids: [] or [uid, gid, ...up to 64 groups]");
    return NULL;
  }
  gid_t ids[2 + 64];
  for (uint32_t i = 0; i < nids; i++) {
    napi_value v;
    int64_t id;
    if (napi_get_element(env, argv[7], i, &v) != napi_ok || get_int(env, v, &id) || id < 0 || id > 0xfffffffeLL) {
      free_strv(cargv);
      free_strv(cenv);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) napi_throw_range_error(env, NULL, "ids: each a uid or gid from 0 to 4294967294");
      return NULL;
    }
    ids[i] = (gid_t)id;
  }
  struct child_job job = {.file = file, .argv = cargv, .envp = cenv, .keep_caps = keep_caps, .nice = (int)nice, .ids = ids, .nids = nids, .root = root[0] ? root : NULL, .cwd = cwd[0] ? cwd : NULL, .err = 0};
  int devnull = -1, err = 0;
  const char *what = "/dev/null";
  for (int i = 0; i < 3 && !err; i++) {
    if (stdio[i] < 0 && devnull < 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) err = errno;
    job.fds[i] = stdio[i] < 0 ? devnull : (int)stdio[i];
  }
  void *stack = MAP_FAILED;
  if (!err) {
    what = "the child's stack";
    stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) err = errno;
  }
  long pid = -1;
  if (!err) {
    what = cgroup >= 0 ? "clone3 into the cgroup" : "clone3";
    struct aios_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VM | CLONE_VFORK;
    args.exit_signal = SIGCHLD;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = CHILD_STACK;
    if (cgroup >= 0) {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = (uint64_t)cgroup;
    }
    // No handler of Node's may run in the child before it has put them back to the default.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = clone3_on_stack(&args, &job);
    if (pid < 0) err = (int)-pid;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  // The child has exec'd or exited by now: its stack and copies are free.
  if (stack != MAP_FAILED) munmap(stack, CHILD_STACK);
  if (devnull >= 0) close(devnull);
  free_strv(cargv);
  free_strv(cenv);
  if (err) return throw_errno(env, what, err);
  if (job.err) {
    waitpid((pid_t)pid, NULL, 0);
    return throw_errno(env, file, job.err);
  }
  napi_value out;
  napi_create_int32(env, (int32_t)pid, &out);
  return out;
}

// pipe(): [readFd, writeFd], both close-on-exec (a child gets the write end only through spawn's stdio).
napi_value js_pipe(napi_env env, napi_callback_info info) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return throw_errno(env, "pipe", errno);
  napi_value out, r, w;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, p[0], &r);
  napi_create_int32(env, p[1], &w);
  napi_set_element(env, out, 0, r);
  napi_set_element(env, out, 1, w);
  return out;
}
