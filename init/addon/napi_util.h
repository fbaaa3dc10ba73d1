// Helpers shared by the addon's sources: arguments in, errors out as JS Errors named by errno.
#ifndef AIOS_NAPI_UTIL_H
#define AIOS_NAPI_UTIL_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define ARG_STR(i, buf) char buf[4096]; if (get_str(env, argv[i], buf, sizeof buf)) return NULL;

#define ARGS(n) size_t argc = n; napi_value argv[n]; napi_get_cb_info(env, info, &argc, argv, NULL, NULL); \
  if (argc < n) { napi_throw_type_error(env, NULL, "missing arguments"); return NULL; }

/** Throw an Error whose code is errno's name (ENOENT) and whose message is "<what>: <strerror>". */
napi_value throw_errno(napi_env env, const char *what, int err);
int get_str(napi_env env, napi_value v, char *buf, size_t len);
int get_int(napi_env env, napi_value v, int64_t *out);
napi_value undef(napi_env env);

// Defined in spawn.c.
napi_value js_spawn(napi_env env, napi_callback_info info);
napi_value js_pipe(napi_env env, napi_callback_info info);
// Defined in watchdog.c.
napi_value js_watchdog_open(napi_env env, napi_callback_info info);
#endif
