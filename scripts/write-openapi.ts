// Writes docs/openapi.json from the zod schemas (`npm run openapi`); openapi.test.ts keeps the committed copy equal.
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../native-host/src/api/openapi.js';

writeFileSync(new URL('../docs/openapi.json', import.meta.url), `${JSON.stringify(openApiDocument(), null, 2)}\n`);
