// The hardware watchdog (linux/watchdog.h): opening its device starts it, and the timeout can only
// be set by ioctl. Keep-alives and the magic close are plain writes, made from JavaScript.
#define _GNU_SOURCE
#include "napi_util.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/watchdog.h>

// A watchdog whose timeout could not be set is stopped again before the error is thrown, so that
// a failed arm never leaves the machine to be reset by the driver's own default.
static napi_value disarm_and_throw(napi_env env, int fd, const char *what, int err) {
  (void)!write(fd, "V", 1);
  close(fd);
  return throw_errno(env, what, err);
}

// watchdogOpen(path, timeoutSeconds): {fd, timeoutSeconds, identity}. The device is running from
// here on, every driver's; the timeout is what the driver made of the one asked for (it may round it).
napi_value js_watchdog_open(napi_env env, napi_callback_info info) {
  ARGS(2);
  ARG_STR(0, path);
  int64_t want; if (get_int(env, argv[1], &want)) return NULL;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, path, errno);
  struct watchdog_info wi;
  memset(&wi, 0, sizeof wi);
  if (ioctl(fd, WDIOC_GETSUPPORT, &wi) != 0) return disarm_and_throw(env, fd, "WDIOC_GETSUPPORT", errno);
  int timeout = (int)want;
  // Not gated on WDIOF_SETTIMEOUT: ipmi_watchdog advertises no options at all yet sets the
  // timeout, so the ioctl's own answer is the test, and GETTIMEOUT reads back what took.
  if (ioctl(fd, WDIOC_SETTIMEOUT, &timeout) != 0) return disarm_and_throw(env, fd, "WDIOC_SETTIMEOUT", errno);
  if (ioctl(fd, WDIOC_GETTIMEOUT, &timeout) != 0) return disarm_and_throw(env, fd, "WDIOC_GETTIMEOUT", errno);
  // ipmi_watchdog starts the BMC's timer on the first keep-alive, not at open: without this one, a
  // PID 1 that hung before its first timer tick would never be reset.
  if (write(fd, "", 1) != 1) return disarm_and_throw(env, fd, "the first keep-alive", errno);
  napi_value out, vfd, vtimeout, videntity;
  napi_create_object(env, &out);
  napi_create_int32(env, fd, &vfd);
  napi_create_int32(env, timeout, &vtimeout);
  napi_create_string_utf8(env, (const char *)wi.identity, strnlen((const char *)wi.identity, sizeof wi.identity), &videntity);
  napi_set_named_property(env, out, "fd", vfd);
  napi_set_named_property(env, out, "timeoutSeconds", vtimeout);
  napi_set_named_property(env, out, "identity", videntity);
  return out;
}
