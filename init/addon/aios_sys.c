// The system calls Node.js does not offer, for aios-init (PID 1). Each function throws a JS
// Error carrying the errno name on failure, so the TypeScript side can report and go on.
#define _GNU_SOURCE
#include "napi_util.h"
#include <uv.h>
#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/reboot.h>

// mount(source, target, fstype, flags, data)
static napi_value js_mount(napi_env env, napi_callback_info info) {
  ARGS(5);
  ARG_STR(0, src); ARG_STR(1, target); ARG_STR(2, fstype); ARG_STR(4, data);
  int64_t flags; if (get_int(env, argv[3], &flags)) return NULL;
  if (mount(src, target, fstype[0] ? fstype : NULL, (unsigned long)flags, data[0] ? data : NULL) != 0) return throw_errno(env, target, errno);
  return undef(env);
}

static napi_value js_umount(napi_env env, napi_callback_info info) {
  ARGS(2);
  ARG_STR(0, target);
  int64_t flags; if (get_int(env, argv[1], &flags)) return NULL;
  if (umount2(target, (int)flags) != 0) return throw_errno(env, target, errno);
  return undef(env);
}

// reboot("poweroff" | "restart")
static napi_value js_reboot(napi_env env, napi_callback_info info) {
  ARGS(1);
  ARG_STR(0, how);
  int cmd = strcmp(how, "restart") == 0 ? LINUX_REBOOT_CMD_RESTART
          : strcmp(how, "halt") == 0 ? LINUX_REBOOT_CMD_HALT
          : strcmp(how, "cad-off") == 0 ? LINUX_REBOOT_CMD_CAD_OFF
          : LINUX_REBOOT_CMD_POWER_OFF;
  if (cmd != LINUX_REBOOT_CMD_CAD_OFF) sync();
  if (reboot(cmd) != 0) return throw_errno(env, "reboot", errno);
  return undef(env);
}

static napi_value js_sync(napi_env env, napi_callback_info info) {
  (void)info;
  sync();
  return undef(env);
}

static napi_value js_sethostname(napi_env env, napi_callback_info info) {
  ARGS(1);
  ARG_STR(0, name);
  if (sethostname(name, strlen(name)) != 0) return throw_errno(env, "sethostname", errno);
  return undef(env);
}

// finitModule(path, params)
static napi_value js_finit_module(napi_env env, napi_callback_info info) {
  ARGS(2);
  ARG_STR(0, path); ARG_STR(1, params);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, path, errno);
  long r = syscall(SYS_finit_module, fd, params, 0);
  int err = errno;
  close(fd);
  if (r != 0) return throw_errno(env, path, err);
  return undef(env);
}

// mknodChar(path, mode, major, minor): a character device node (NVIDIA's, which no devtmpfs
// creates: the driver registers its majors but makes no device entries).
static napi_value js_mknod_char(napi_env env, napi_callback_info info) {
  ARGS(4);
  ARG_STR(0, path);
  int64_t mode, major_n, minor_n;
  if (get_int(env, argv[1], &mode) || get_int(env, argv[2], &major_n) || get_int(env, argv[3], &minor_n)) return NULL;
  if (mknod(path, S_IFCHR | (mode_t)(mode & 07777), makedev((unsigned)major_n, (unsigned)minor_n)) != 0) return throw_errno(env, path, errno);
  return undef(env);
}

// waitpid(pid) with WNOHANG (pid -1: any child): {pid, status} of a reaped child, or null when none
// has exited or there is no child.
static napi_value js_waitpid(napi_env env, napi_callback_info info) {
  ARGS(1);
  int64_t pid; if (get_int(env, argv[0], &pid)) return NULL;
  int status = 0;
  pid_t r = waitpid((pid_t)pid, &status, WNOHANG);
  if (r < 0 && errno != ECHILD) return throw_errno(env, "waitpid", errno);
  napi_value out;
  if (r <= 0) { napi_get_null(env, &out); return out; }
  napi_value vpid, vstatus;
  napi_create_object(env, &out);
  napi_create_int32(env, r, &vpid);
  napi_create_int32(env, status, &vstatus);
  napi_set_named_property(env, out, "pid", vpid);
  napi_set_named_property(env, out, "status", vstatus);
  return out;
}

static int ifreq_for(const char *name, struct ifreq *ifr) {
  memset(ifr, 0, sizeof *ifr);
  if (strlen(name) >= IFNAMSIZ) { errno = EINVAL; return -1; }
  strcpy(ifr->ifr_name, name);
  return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

// linkUp(name): IFF_UP on the interface.
static napi_value js_link_up(napi_env env, napi_callback_info info) {
  ARGS(1);
  ARG_STR(0, name);
  struct ifreq ifr;
  int s = ifreq_for(name, &ifr);
  if (s < 0) return throw_errno(env, name, errno);
  int r = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (r == 0) { ifr.ifr_flags |= IFF_UP | IFF_RUNNING; r = ioctl(s, SIOCSIFFLAGS, &ifr); }
  int err = errno;
  close(s);
  if (r != 0) return throw_errno(env, name, err);
  return undef(env);
}

static int set_sockaddr(struct sockaddr *sa, const char *ip) {
  struct sockaddr_in *in = (struct sockaddr_in *)sa;
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  return inet_pton(AF_INET, ip, &in->sin_addr) == 1 ? 0 : -1;
}

// setAddress(name, ip, netmask)
static napi_value js_set_address(napi_env env, napi_callback_info info) {
  ARGS(3);
  ARG_STR(0, name); ARG_STR(1, ip); ARG_STR(2, mask);
  struct ifreq ifr;
  int s = ifreq_for(name, &ifr);
  if (s < 0) return throw_errno(env, name, errno);
  int r = -1;
  errno = EINVAL;
  if (set_sockaddr(&ifr.ifr_addr, ip) == 0 && (r = ioctl(s, SIOCSIFADDR, &ifr)) == 0) {
    r = -1;
    errno = EINVAL;
    if (set_sockaddr(&ifr.ifr_netmask, mask) == 0) r = ioctl(s, SIOCSIFNETMASK, &ifr);
  }
  int err = errno;
  close(s);
  if (r != 0) return throw_errno(env, ip, err);
  return undef(env);
}

static void default_route(struct rtentry *rt, char *dev) {
  memset(rt, 0, sizeof *rt);
  set_sockaddr(&rt->rt_dst, "0.0.0.0");
  set_sockaddr(&rt->rt_genmask, "0.0.0.0");
  rt->rt_dev = dev;
}

// setDefaultRoutes(dev, gateways): the default routes through `dev` are deleted, then one through
// each gateway is added, metric 0 for the first, 1 for the next (as busybox's udhcpc script orders
// a lease's routers), so that a renewed lease with other routers leaves no stale route behind.
#define MAX_GATEWAYS 8
static napi_value js_set_default_routes(napi_env env, napi_callback_info info) {
  ARGS(2);
  ARG_STR(0, dev);
  uint32_t n = 0;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok || n == 0 || n > MAX_GATEWAYS) {
    napi_throw_type_error(env, NULL, "expected an array of 1 to 8 gateway addresses");
    return NULL;
  }
  // Every gateway is parsed before any route is touched: a bad one leaves the routes as they were.
  struct sockaddr gateways[MAX_GATEWAYS];
  char names[MAX_GATEWAYS][64];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || get_str(env, v, names[i], sizeof names[i])) return NULL;
    if (set_sockaddr(&gateways[i], names[i]) != 0) return throw_errno(env, names[i], EINVAL);
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_errno(env, "socket", errno);
  struct rtentry rt;
  int err = 0;
  // Each SIOCDELRT removes one match (metric 0 matches any); ESRCH says none is left. The bound
  // keeps a kernel that answered otherwise from looping PID 1.
  for (int i = 0; i < 64; i++) {
    default_route(&rt, dev);
    if (ioctl(s, SIOCDELRT, &rt) != 0) {
      err = errno;
      break;
    }
  }
  const char *what = dev;
  char failed[128];
  if (err == ESRCH || err == 0) {
    err = 0;
    // A gateway the kernel refuses does not keep the others out; the first refusal is reported.
    for (uint32_t i = 0; i < n; i++) {
      default_route(&rt, dev);
      rt.rt_gateway = gateways[i];
      rt.rt_flags = RTF_UP | RTF_GATEWAY;
      rt.rt_metric = (short)(i + 1); // the kernel stores rt_metric - 1
      if (ioctl(s, SIOCADDRT, &rt) != 0 && errno != EEXIST && err == 0) {
        err = errno;
        snprintf(failed, sizeof failed, "%.32s via %.63s", dev, names[i]);
        what = failed;
      }
    }
  }
  close(s);
  if (err != 0) return throw_errno(env, what, err);
  return undef(env);
}

// PSI triggers (Documentation/accounting/psi.rst): the kernel signals POLLPRI on the pressure
// file when the stall threshold is crossed. libuv's UV_PRIORITIZED poll turns that into a
// callback on aios-init's own event loop, so nothing blocks and no thread is needed.
typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
} psi_watch;

static void on_psi(uv_poll_t *handle, int status, int events) {
  psi_watch *w = (psi_watch *)handle;
  napi_handle_scope scope;
  napi_open_handle_scope(w->env, &scope);
  napi_value cb, recv;
  napi_get_reference_value(w->env, w->callback, &cb);
  napi_get_undefined(w->env, &recv);
  napi_make_callback(w->env, w->async, recv, cb, 0, NULL, NULL);
  napi_close_handle_scope(w->env, scope);
}

// psiWatch(path, trigger, callback): open the pressure file, write the trigger, watch it.
static napi_value js_psi_watch(napi_env env, napi_callback_info info) {
  ARGS(3);
  ARG_STR(0, path);
  ARG_STR(1, trigger);
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, path, errno);
  if (write(fd, trigger, strlen(trigger) + 1) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, path, err);
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    close(fd);
    return throw_errno(env, "uv loop", EINVAL);
  }
  psi_watch *w = calloc(1, sizeof *w);
  if (!w) {
    close(fd);
    return throw_errno(env, "psi watch", ENOMEM);
  }
  w->env = env;
  napi_create_reference(env, argv[2], 1, &w->callback);
  napi_value name;
  napi_create_string_utf8(env, "aios:psi", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &w->async);
  int r = uv_poll_init(loop, &w->handle, fd);
  if (r == 0) r = uv_poll_start(&w->handle, UV_PRIORITIZED, on_psi);
  if (r != 0) {
    // The watch lives as long as aios-init; on failure it never started, so freeing is safe.
    close(fd);
    free(w);
    return throw_errno(env, "uv_poll", -r);
  }
  return undef(env);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    {"mount", 0, js_mount, 0, 0, 0, napi_default, 0},
    {"umount", 0, js_umount, 0, 0, 0, napi_default, 0},
    {"reboot", 0, js_reboot, 0, 0, 0, napi_default, 0},
    {"sync", 0, js_sync, 0, 0, 0, napi_default, 0},
    {"sethostname", 0, js_sethostname, 0, 0, 0, napi_default, 0},
    {"finitModule", 0, js_finit_module, 0, 0, 0, napi_default, 0},
    {"mknodChar", 0, js_mknod_char, 0, 0, 0, napi_default, 0},
    {"waitpid", 0, js_waitpid, 0, 0, 0, napi_default, 0},
    {"linkUp", 0, js_link_up, 0, 0, 0, napi_default, 0},
    {"setAddress", 0, js_set_address, 0, 0, 0, napi_default, 0},
    {"setDefaultRoutes", 0, js_set_default_routes, 0, 0, 0, napi_default, 0},
    {"psiWatch", 0, js_psi_watch, 0, 0, 0, napi_default, 0},
    {"spawn", 0, js_spawn, 0, 0, 0, napi_default, 0},
    {"pipe", 0, js_pipe, 0, 0, 0, napi_default, 0},
    {"watchdogOpen", 0, js_watchdog_open, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
