/** One partition of a disk image, in bytes. */
export interface Partition {
  start: number;
  size: number;
}

/** The MBR's partitions as `sfdisk --json` reads them. */
export function parsePartitions(sfdiskJson: string): Partition[] {
  const t = (JSON.parse(sfdiskJson) as { partitiontable: { sectorsize?: number; partitions?: { start: number; size: number }[] } }).partitiontable;
  const unit = t.sectorsize ?? 512;
  return (t.partitions ?? []).map((p) => ({ start: p.start * unit, size: p.size * unit }));
}
