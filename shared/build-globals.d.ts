// Constants esbuild (and vitest) substitute at build time.
/** True only in the test flavour of the add-on, which may reach the loopback mock platform. */
declare const __TEST_BUILD__: boolean;
/** The package version, stamped into the add-on and the host. */
declare const __CONDUCTOR_FX_VERSION__: string;
