/**
 * Why aios-init will not run as process `pid`, or null when it is process 1. Started from a shell
 * it would mount, start a second udhcpc and second services, and take power signals for itself.
 */
export function notPid1(pid: number): string | null {
  if (pid === 1) return null;
  return (
    `aios-init: this is the machine's init and runs only as process 1; it is process ${pid}, so it did nothing. ` +
    'It mounts filesystems, brings up the network and starts the services, which a second copy would do again.\n'
  );
}
