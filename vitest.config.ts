import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  define: {
    __TEST_BUILD__: 'false',
    __CONDUCTOR_FX_VERSION__: JSON.stringify(pkg.version),
  },
  test: {
    include: ['{shared,extension,native-host,client,scripts,test,bench}/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
