/**
 * ggml's backend modules, as llama-server's loader finds them (GGML_BACKEND_DL): the CPU variants
 * and the GPU backends, one shared library each beside the server. Shared by the build (which
 * collects them and what they need) and aios check (which asks the guest's loader about each).
 */
export const BACKEND_MODULE = /^libggml-(cpu|vulkan|cuda)[\w-]*\.so$/;

export const isBackendModule = (name: string): boolean => BACKEND_MODULE.test(name);

/** Where they are in the image (scripts/runtime/cmake.ts RUNTIME_DIR; the probe script names it too). */
export const BACKEND_DIR = '/usr/lib/llama';
