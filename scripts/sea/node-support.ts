/**
 * The day each Node.js release line's security support ends, from the Node.js Release Working
 * Group's schedule (github.com/nodejs/Release). aios-init is PID 1 and runs as root, so the build
 * says when the Node it is made of no longer gets security fixes.
 */
export const NODE_SUPPORT_ENDS: Readonly<Record<number, string>> = {
  20: '2026-04-30',
  21: '2024-06-01',
  22: '2027-04-30',
  23: '2025-06-01',
  24: '2028-04-30',
  25: '2026-06-01',
  26: '2029-04-30',
  27: '2030-04-30',
};

/** When `version`'s line loses security support (`2027-04-30`), or null for a line not in the table. */
export function nodeSupportEnds(version: string): string | null {
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  return NODE_SUPPORT_ENDS[major] ?? null;
}

/**
 * A warning when `version`'s security support ended before `today`; undefined while it lasts or is
 * unknown. `pinned`: it is the pin itself, so the advice is to move the pin rather than to use it.
 */
export function nodeSupportWarning(version: string, today: Date, pinned: boolean): string | undefined {
  const ends = nodeSupportEnds(version);
  if (!ends || today.toISOString().slice(0, 10) <= ends) return undefined;
  const fix = pinned
    ? 'Move the pin in scripts/sea/node-pins.ts to a supported line, or set init.node to the path of a supported Node.'
    : 'Set init.node to "npm" (the pinned Node) or to the path of a Node whose line is supported.';
  return `aios-init is made of Node.js ${version}, whose security support ended on ${ends}: PID 1 runs as root and listens on the network, so it gets no more fixes. ${fix}`;
}
