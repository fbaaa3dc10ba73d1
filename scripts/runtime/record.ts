/** What the runtime step leaves in its cache entry (runtime.json) and in the build's context. */
export interface RuntimeFiles {
  /** Files for RUNTIME_DIR (llama-server, its libraries and backend modules), by name. */
  files: string[];
  /** Host libraries they need, by absolute path, copied to the same path in the image. */
  systemLibs: string[];
  commit?: string;
  from: string;
  /** The options llama-server's --help lists. */
  options: string[];
  /** Sonames the modules need from the NVIDIA driver's user space (not the build host's copies). */
  driverLibs?: string[];
  /** The CUDA backend's toolkit release and the GPU architectures it has code for. */
  cuda?: { release: string; architectures: string[] };
}
