/** The kernel command-line flag that asks aios-init for a console shell (`aios run --shell` sets it). */
export const SHELL_FLAG = 'aios.shell';
