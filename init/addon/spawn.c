// Starting a service: clone3() straight into its cgroup (CLONE_INTO_CGROUP), so that not even its
// first instruction runs outside it and no shell has to move it there; an exec that fails comes
// back as the errno of execve (ENOENT, EACCES), not as an exit status the program could also give.
// aios-init reaps these children itself (waitpid), which is why Node's child_process is not used.
#define _GNU_SOURCE
#include "napi_util.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
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

// In the child, before execve: only system calls, no allocation (other threads of Node may have
// held malloc's lock at the clone). Never returns.
static void child(const char *file, char **argv, char **envp, int fds[3], int errfd) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  // Node ignores SIGPIPE and handles others; an exec keeps ignored signals ignored.
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, NULL);
  // A descriptor that is already 0-2 but in another slot is moved up first, so no dup2 closes one still needed.
  for (int i = 0; i < 3; i++)
    if (fds[i] < 3 && fds[i] != i) fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
  for (int i = 0; i < 3; i++) {
    if (fds[i] < 0) goto fail;
    if (fds[i] == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(fds[i], i) < 0) goto fail;
  }
  // What PID 1 inherited without close-on-exec (from stage 1, say) is no service's business.
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(file, argv, envp);
fail:;
  int err = errno;
  ssize_t w = write(errfd, &err, sizeof err);
  (void)w;
  _exit(127);
}

// spawn(file, argv, env, [stdin, stdout, stderr], cgroupFd): pid. A descriptor of -1 is /dev/null;
// cgroupFd -1 leaves the child in aios-init's cgroup. Throws with the errno of a failed exec.
napi_value js_spawn(napi_env env, napi_callback_info info) {
  ARGS(5);
  ARG_STR(0, file);
  int64_t stdio[3], cgroup;
  for (uint32_t i = 0; i < 3; i++) {
    napi_value v;
    if (napi_get_element(env, argv[3], i, &v) != napi_ok || get_int(env, v, &stdio[i])) return NULL;
  }
  if (get_int(env, argv[4], &cgroup)) return NULL;
  char **cargv = get_strv(env, argv[1]);
  if (!cargv) return NULL;
  char **cenv = get_strv(env, argv[2]);
  if (!cenv) {
    free_strv(cargv);
    return NULL;
  }
  int devnull = -1, errpipe[2] = {-1, -1}, fds[3];
  int err = 0;
  const char *what = "pipe2";
  if (pipe2(errpipe, O_CLOEXEC) < 0) err = errno;
  else what = "/dev/null";
  for (int i = 0; i < 3 && !err; i++) {
    if (stdio[i] < 0 && devnull < 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) err = errno;
    fds[i] = stdio[i] < 0 ? devnull : (int)stdio[i];
  }
  pid_t pid = -1;
  if (!err) {
    what = cgroup >= 0 ? "clone3 into the cgroup" : "clone3";
    struct aios_clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    if (cgroup >= 0) {
      args.flags = CLONE_INTO_CGROUP;
      args.cgroup = (uint64_t)cgroup;
    }
    // No handler of Node's may run in the child before it has put them back to the default.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) child(file, cargv, cenv, fds, errpipe[1]);
    if (pid < 0) err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  if (errpipe[1] >= 0) close(errpipe[1]);
  if (devnull >= 0) close(devnull);
  free_strv(cargv);
  free_strv(cenv);
  if (err) {
    if (errpipe[0] >= 0) close(errpipe[0]);
    return throw_errno(env, what, err);
  }
  // The pipe closes at the exec (success) or carries execve's errno (failure).
  int exec_err;
  ssize_t n;
  do n = read(errpipe[0], &exec_err, sizeof exec_err);
  while (n < 0 && errno == EINTR);
  close(errpipe[0]);
  if (n == sizeof exec_err) {
    waitpid(pid, NULL, 0);
    return throw_errno(env, file, exec_err);
  }
  napi_value out;
  napi_create_int32(env, pid, &out);
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
