import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts", "test/faults/**/*.test.ts", "test/fuzz/**/*.test.ts", "test/browser/**/*.test.ts"],
    globalSetup: ["test/harness/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: integration files each start their own server processes, so run them two at a time.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
