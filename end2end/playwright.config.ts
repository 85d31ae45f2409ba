import { defineConfig } from "@playwright/test";

// Real headless Chromium from the system (Debian's `chromium`); Playwright never downloads one here.
export default defineConfig({
  testDir: "./tests",
  // Generous for a loaded 2-core CI machine; a passing test never waits for these.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: process.env.BASE_URL ?? "http://127.0.0.1:3170",
    locale: "ru-RU",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
      ],
    },
  },
});
