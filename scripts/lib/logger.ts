/** Where a step's messages go (the progress display, or plain lines in CI). */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
}
