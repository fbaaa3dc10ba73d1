/** What the NVIDIA modules step made, as build.json and the root filesystem step read it. */
export interface GpuModulesRecord {
  driver: string;
  from: string;
  firmwarePackage: string;
  modules: { path: string; name: string; version: string; vermagic: string; depends: string[]; bytes: number }[];
  firmware: { path: string; bytes: number }[];
}
