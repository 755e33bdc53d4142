// Builds the web console into dist/console, which the server reads at start (server/src/console/files.ts).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  // The server serves the console from the root of its origin; hash routes keep every page on index.html.
  base: "/",
  build: {
    outDir: fileURLToPath(new URL("../../dist/console", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // Evergreen browsers only; the polyfill would be dead weight.
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
