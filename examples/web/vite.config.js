// The example site: `vite build examples/web`, `vite preview examples/web` (make example-test).
// VITE_API_BASE_URL (environment or .env) is the API's origin, baked in at build time.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  // The generated client lives in ../../clients/typescript (make clients).
  server: { fs: { allow: [fileURLToPath(new URL("../..", import.meta.url))] } },
  build: { outDir: "dist", emptyOutDir: true },
});
