/**
 * The test build's mock platform: any port on the IPv4 loopback, plain http. Only main.ts imports
 * it, under `__TEST_BUILD__`, which scripts/build.mjs sets at build time: esbuild then drops this
 * module from the release bundle, which extension/manifest.test.ts checks by reading the bundle.
 */
export const TEST_ORIGIN = /^http:\/\/127\.0\.0\.1(:\d{1,5})?$/;
